"""ScopehubApp's own settings that need no server: its logger."""

from __future__ import annotations

import logging

from scopehub.server_extension.app import ScopehubApp


def test_logger_level_follows_log_level() -> None:
    """Debug calls (jupyter_server logs every successful request at debug) are dropped at the logger,
    not built into records for the handler to drop; asking for debug output still gets it."""
    app = ScopehubApp()
    assert app.log_level == logging.INFO
    assert not app.log.isEnabledFor(logging.DEBUG)
    assert app.log.isEnabledFor(logging.INFO)
    app.log_level = logging.DEBUG
    assert app.log.isEnabledFor(logging.DEBUG)
    assert all(h.level <= logging.DEBUG for h in app.log.handlers)
