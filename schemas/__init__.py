"""The message contract shared by every LogoForge process: commands, events and the broker topology."""
