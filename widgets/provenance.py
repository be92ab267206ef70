"""Provenance, gathered where the code runs: what it read, which notebook and cell, which packages.

- Inputs: the catalogue images whose pixels this process has read (``to_numpy``, ``to_dask``,
  ``to_zarr``), unless the caller names them (``inputs=``).
- Source: the notebook (``JPY_SESSION_NAME``, which Jupyter gives each kernel; VS Code's
  ``__vsc_ipynb_file__``), else the script (``sys.argv[0]``).
- Code: the cell being run (IPython's input history), else the script's text; its sha256 always,
  the text itself when under 100,000 characters.
- Packages: the version of every installed distribution whose modules are loaded in this process
  (the standard library left out), so the record says which numpy, scikit-image, ... computed it.
- The server adds who made it and when; parameters are the caller's (``parameters=``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .client import Hub

MAX_CODE = 100_000
MAX_PARAMETERS = 60 * 1024
_read: dict[int, None] = {}  # image ids, in the order first read (an ordered set)
_lock = threading.Lock()


def note_read(image_id: int) -> None:
    """Remember that this process read the pixels of an image (a default input of what it writes)."""
    with _lock:
        _read.setdefault(int(image_id), None)


def images_read() -> list[int]:
    """The ids of the images whose pixels this process has read, in the order first read."""
    with _lock:
        return list(_read)


def forget_reads() -> None:
    """Start afresh: images read so far are no longer the default inputs of what is written next."""
    with _lock:
        _read.clear()


def _ipython() -> Any:
    module = sys.modules.get("IPython")
    if module is None:
        return None
    try:
        return module.get_ipython()
    except Exception:
        return None


def current_code() -> str | None:
    """The code of the cell being run (in IPython), or of the script being run; None if unknown."""
    shell = _ipython()
    if shell is not None:
        history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
        if history:
            return str(history[-1])
        return None
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return None
    return None


def source() -> str:
    """The notebook or script that is running."""
    if os.environ.get("JPY_SESSION_NAME"):
        return os.environ["JPY_SESSION_NAME"]
    shell = _ipython()
    if shell is not None:
        vscode = shell.user_ns.get("__vsc_ipynb_file__")
        return str(vscode) if vscode else "IPython"
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.abspath(path) if path else (sys.argv[0] if sys.argv and sys.argv[0] else "python")


def packages() -> dict[str, str]:
    """{distribution: version} for the third-party packages loaded in this process."""
    from importlib import metadata

    try:
        owners = metadata.packages_distributions()
    except Exception:
        return {}
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    found: dict[str, str] = {}
    for name in sorted({m.partition(".")[0] for m in list(sys.modules)}):
        if name in stdlib or name.startswith("_") or name not in owners:
            continue
        for dist in owners[name]:
            if dist in found:
                continue
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return dict(sorted(found.items(), key=lambda kv: kv[0].lower())[:4000])


def environment() -> dict[str, Any]:
    from scopehub import __version__

    return {"python": platform.python_version(), "platform": platform.platform(), "client": f"scopehub {__version__}",
            "executable": sys.executable}


def _jsonable(value: Any) -> Any:
    """Parameters as JSON: numpy numbers and arrays' shapes, paths as text; anything else by its repr."""
    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") and getattr(v, "size", 2) == 1
                                 else repr(v)[:1000]))


def input_refs(inputs: Any) -> list[dict[str, Any]]:
    """``inputs`` as the API's references: objects (anything with ``kind`` and ``id``) or image ids."""
    if inputs is None:
        return [{"type": "image", "id": i} for i in images_read()]
    if not isinstance(inputs, Iterable) or isinstance(inputs, str | bytes):
        inputs = [inputs]
    refs = []
    for item in inputs:
        if hasattr(item, "kind") and hasattr(item, "id"):
            refs.append({"type": item.kind, "id": int(item.id)})
        else:
            refs.append({"type": "image", "id": int(item)})
    return refs


def collect(inputs: Any = None, parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance record of something made now, from here."""
    code = current_code()
    record: dict[str, Any] = {"inputs": input_refs(inputs), "source": source()[:4096],
                              "parameters": _jsonable(parameters or {}), "packages": packages(),
                              "environment": environment()}
    if len(json.dumps(record["parameters"])) > MAX_PARAMETERS:
        raise ValueError(f"parameters are at most {MAX_PARAMETERS // 1024} KiB of JSON; pass the large ones as inputs "
                         "or attachments")
    if code is not None:
        record["code_sha256"] = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
        if len(code) <= MAX_CODE:
            record["code"] = code
    return record


class Provenance:
    """How an object was made: ``inputs`` (the objects you can see), ``source``, ``code``, ``parameters``,
    ``packages``, ``user`` and ``created``."""

    def __init__(self, hub: Hub, data: dict[str, Any]):
        self._hub = hub
        self.data = data

    @property
    def inputs(self) -> list[Any]:
        """The catalogue objects it was computed from (those you can see), as objects."""
        return [self._hub._get(ref["type"], ref["id"]) for ref in self.data["inputs"]]

    @property
    def input_ids(self) -> list[int]:
        return [ref["id"] for ref in self.data["inputs"]]

    @property
    def hidden_inputs(self) -> int:
        return self.data.get("hidden_inputs", 0)

    @property
    def source(self) -> str:
        return self.data.get("source", "")

    @property
    def code(self) -> str | None:
        return self.data.get("code")

    @property
    def code_sha256(self) -> str:
        return self.data.get("code_sha256", "")

    @property
    def parameters(self) -> dict[str, Any]:
        return self.data.get("parameters", {})

    @property
    def packages(self) -> dict[str, str]:
        return self.data.get("packages", {})

    @property
    def user(self) -> str | None:
        return (self.data.get("user") or {}).get("username")

    @property
    def created(self) -> str | None:
        return self.data.get("created")

    def __repr__(self) -> str:
        made = self.data["object"]
        return (f"<Provenance of {made['type']} {made['id']}: by {self.user} at {self.created} from {self.source!r}, "
                f"inputs {self.input_ids}>")

    def _repr_html_(self) -> str:
        from .display import provenance_html

        return provenance_html(self)
