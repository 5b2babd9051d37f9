"""The HTTP API: FastAPI in front of the broker and the stores."""
