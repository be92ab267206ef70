"""Run a real `jupyter server` subprocess for end-to-end tests.

The server comes from this interpreter's venv, so it loads the extensions that venv enables:

    with JupyterServerProcess(["--ScopehubApp.database_url=..."]) as server:
        requests.get(server.url + "api/status", params={"token": server.token})
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import IO, NoReturn, Self

import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterServerProcess:
    """A `jupyter-server` from this interpreter's venv on a free port, with a random token (and JupyterLab
    at ``/lab`` when ``lab=True``)."""

    def __init__(
        self,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        root_dir: Path | None = None,
        startup_timeout: float = 60.0,
        lab: bool = False,
    ) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="scopehub-jupyter-")
        tmp = Path(self._tmp.name)
        self.root_dir = root_dir or tmp / "root"
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = tmp / "server.log"
        self.port = _free_port()
        self.token = secrets.token_hex(16)
        self.url = f"http://127.0.0.1:{self.port}/"
        exe = Path(sys.executable).parent / "jupyter-server"
        self.cmd = [
            str(exe),
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",  # fail loudly rather than move to a port we don't know
            "--ServerApp.open_browser=False",
            # The API is all most tests need: skip JupyterLab's and jupyter_lsp's start-up work
            # (jupyter_lsp runs `npm prefix -g` each time), which halves the time to ready.
            # `lab=True` keeps JupyterLab, for the tests that open it in a browser.
            "--ServerApp.jpserver_extensions=jupyter_lsp=False",
            *([] if lab else ["--ServerApp.jpserver_extensions=jupyterlab=False"]),
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            *(["--allow-root"] if os.geteuid() == 0 else []),
            *args,
        ]
        # Own runtime dir: connection files of parallel servers must not mix with the user's.
        self.env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), **(env or {})}
        if lab:
            # JupyterLab without the news pop-up (it covers the page's corner) and without the plugins
            # no test uses, which cost seconds of start-up on a busy machine.
            config = tmp / "config" / "labconfig"
            config.mkdir(parents=True)
            (config / "page_config.json").write_text(json.dumps({"disabledExtensions": {name: True for name in (
                "@jupyterlab/apputils-extension:announcements", "@jupyterlab/debugger-extension",
                "@jupyterlab/extensionmanager-extension")}}))
            self.env.setdefault("JUPYTER_CONFIG_DIR", str(tmp / "config"))
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Self:
        """Start the server and block until /api/status answers 200."""
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - the server writes to it until stop()
        # New session: a Ctrl-C in the test terminal must not reach it; stop() owns its fate.
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._fail(f"jupyter server exited early with code {self.proc.returncode}")
            try:
                r = requests.get(self.url + "api/status", params={"token": self.token}, timeout=2)
                if r.status_code == HTTPStatus.OK:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self._fail(f"jupyter server not ready after {self.startup_timeout:.0f} s")

    def _fail(self, why: str) -> NoReturn:
        self.stop(timeout=5)
        tail = "\n".join(self.log_text().splitlines()[-40:])
        raise RuntimeError(f"{why}; command: {' '.join(self.cmd)}\n--- log tail ---\n{tail}")

    def log_text(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int | None:
        """Send `sig`, wait up to `timeout` s (then SIGKILL the group); return the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # kernels and other children too
                self.proc.wait()
        if self._log:
            self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        # Explicitly: an implicit cleanup at exit is a ResourceWarning, and warnings are errors.
        self._tmp.cleanup()
