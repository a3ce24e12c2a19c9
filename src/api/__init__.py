"""The HTTP API: a FastAPI app served by gunicorn (`api.app:app`)."""
