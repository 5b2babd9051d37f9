"""LogoForge Drive: the operator's web interface over everything the system stores, served by the API process."""
