"""The service's tables, and the engine that reaches them. The engine is
made on first use, not at import: the service starts, and answers its
health route, before the database is there."""

from functools import lru_cache

from sqlalchemy import Engine, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import settings


class Base(DeclarativeBase):
    pass


class Item(Base):
    """A row the API writes and reads back (migrations/versions/0001)."""

    __tablename__ = "items"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))


@lru_cache(maxsize=1)
def engine() -> Engine:
    # pool_pre_ping: a connection that PostgreSQL closed (a restart) is
    # replaced instead of failing the next request.
    return create_engine(settings.database_url(), pool_pre_ping=True, pool_size=5)


def session() -> Session:
    return Session(engine())
