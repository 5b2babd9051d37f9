"""Long-running LogoForge processes that do no GPU work, and the adapters they share."""
