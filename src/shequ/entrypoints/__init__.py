"""The thin faces: the command line (click) and the HTTP API (FastAPI)."""
