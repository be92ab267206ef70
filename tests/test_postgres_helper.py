"""The test infrastructure itself: a throwaway external PostgreSQL reached over TCP by URL."""

from __future__ import annotations

import sqlalchemy as sa

from .postgres import external_postgres


def test_external_postgres_over_tcp_with_password() -> None:
    with external_postgres() as pg:
        assert "@127.0.0.1:" in pg.url and pg.password in pg.url
        engine = sa.create_engine(pg.url)
        try:
            with engine.connect() as conn:
                assert conn.execute(sa.text("select 1")).scalar_one() == 1
                # Over TCP (not the unix socket), so the password was really checked.
                assert conn.execute(sa.text("select inet_server_addr() is not null")).scalar()
        finally:
            engine.dispose()
    assert not pg.root.exists()
