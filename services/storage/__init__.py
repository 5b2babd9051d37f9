"""Adapters for the stores: S3 objects through boto3, MongoDB documents through PyMongo's async API."""
