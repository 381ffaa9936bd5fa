"""Alembic environment: runs on the connection ``immich_mirror.db.migrate`` hands over."""

from __future__ import annotations

from alembic import context

from immich_mirror.db.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic revision --autogenerate` by developers
    from sqlalchemy import create_engine

    url = context.config.get_main_option("sqlalchemy.url") or "sqlite:///dev-migrations.db"
    connection = create_engine(url).connect()

# SQLite cannot ALTER most things; batch mode rebuilds tables instead.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
