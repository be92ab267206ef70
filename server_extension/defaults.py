"""Defaults that the Jupyter extension and the ``scopehub`` command line must agree on.

Both find the same data folder, database and admin user unless told otherwise, so that
``scopehub users list`` run beside ``jupyter lab`` sees the catalogue that JupyterLab serves.
"""

from __future__ import annotations

import getpass
import os

from jupyter_core.paths import jupyter_data_dir


def default_data_dir() -> str:
    """``$SCOPEHUB_DATA_DIR``, or ``scopehub`` under the Jupyter data folder."""
    return os.environ.get("SCOPEHUB_DATA_DIR") or os.path.join(jupyter_data_dir(), "scopehub")


def default_database_url() -> str:
    """``$SCOPEHUB_DATABASE_URL``; empty means the embedded PostgreSQL in ``data_dir/pgdata``."""
    return os.environ.get("SCOPEHUB_DATABASE_URL", "")


def default_username() -> str:
    """The catalogue admin that the local operator is: ``$SCOPEHUB_USERNAME``, or the OS user."""
    return os.environ.get("SCOPEHUB_USERNAME") or getpass.getuser()
