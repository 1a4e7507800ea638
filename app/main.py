"""The FastAPI service that the image ships."""

from fastapi import FastAPI

SERVICE_NAME = "fastapi-server"
VERSION = "0.1.0"

app = FastAPI(title=SERVICE_NAME, version=VERSION)


@app.get("/health")
def health() -> dict[str, str]:
    """Liveness: answers as soon as the server takes requests."""
    return {"status": "ok"}


@app.get("/")
def root() -> dict[str, str]:
    return {"service": SERVICE_NAME, "version": VERSION}
