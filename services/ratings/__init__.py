"""The ratings service: RateLogo in, ratings and per-image aggregates in MongoDB, LogoRated out, retraining trigger."""
