"""Progress bars for long client operations, in notebooks and terminals alike (tqdm)."""

from __future__ import annotations

import sys
from typing import Any


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
    except Exception:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def progress_bar(total: float, description: str, *, unit: str = "B", enabled: bool = True) -> Any:
    """A tqdm bar: the notebook widget when ipywidgets is there, else text (which Jupyter also shows)."""
    if enabled and _in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm's notebook bar needs it)
            from tqdm.notebook import tqdm as bar

            return bar(total=total, desc=description, unit=unit, unit_scale=True, leave=True)
        except ImportError:
            pass
    from tqdm.std import tqdm

    return tqdm(total=total, desc=description, unit=unit, unit_scale=True, leave=True, disable=not enabled,
                file=sys.stderr, dynamic_ncols=True)
