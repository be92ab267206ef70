"""Schema versions: the Alembic migrations shipped in ``migrations/`` and the calls over them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


@dataclass(frozen=True)
class SchemaStatus:
    current: str | None
    head: str
    pending: list[str]

    @property
    def up_to_date(self) -> bool:
        return not self.pending


def status(engine: Engine) -> SchemaStatus:
    """Which revision the database is at, and which revisions an upgrade would apply."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    head = script.get_current_head()
    pending = [rev.revision for rev in script.iterate_revisions(head, current)]
    return SchemaStatus(current=current, head=head, pending=list(reversed(pending)))


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def history(engine: Engine) -> list[tuple[str, str]]:
    """(revision, message) from the first migration to the newest."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    return [(rev.revision, rev.doc or "") for rev in reversed(list(script.walk_revisions()))]
