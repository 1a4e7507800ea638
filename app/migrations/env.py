"""Alembic's entry: migrate the database that settings.py names."""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine

import db
import settings

if context.config.config_file_name is not None:
    fileConfig(context.config.config_file_name)

engine = create_engine(settings.database_url())
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=db.Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
