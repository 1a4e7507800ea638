"""Where the service finds PostgreSQL and Redis: from the environment,
with the stack's service names as defaults (never `localhost`: inside a
container that is the container itself)."""

import os

from sqlalchemy.engine import URL


def database_url() -> URL:
    """The password comes from POSTGRES_PASSWORD_FILE (a Compose secret)
    or POSTGRES_PASSWORD, and never sits in a URL string that a log or a
    traceback could print."""
    password_file = os.environ.get("POSTGRES_PASSWORD_FILE")
    if password_file:
        with open(password_file, encoding="utf-8") as file:
            password = file.read().strip()
    else:
        password = os.environ.get("POSTGRES_PASSWORD")
    user = os.environ.get("POSTGRES_USER", "app")
    return URL.create(
        "postgresql+psycopg",
        username=user,
        password=password,
        host=os.environ.get("POSTGRES_HOST", "postgres"),
        port=int(os.environ.get("POSTGRES_PORT", "5432")),
        database=os.environ.get("POSTGRES_DB", user),
    )


def redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://redis:6379/0")
