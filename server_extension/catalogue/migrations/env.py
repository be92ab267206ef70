"""Alembic environment: runs on the engine that ``schema.py`` hands over (never a config file)."""

from alembic import context

from scopehub.server_extension.catalogue.models import metadata

engine = context.config.attributes["engine"]

with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, compare_server_default=False)
    # One transaction for the whole upgrade: a failed migration leaves the schema as it was.
    with context.begin_transaction():
        # Two processes starting at once must not both migrate.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(772001)")
        context.run_migrations()
    connection.commit()
