"""Run code in a real kernel that a real Jupyter server started, as a notebook does.

The kernel is started through the server's REST API (``POST api/sessions`` with a notebook path,
so it gets ``JPY_SESSION_NAME`` and ``JPY_PARENT_PID`` as in JupyterLab), and code runs over the
kernel's websocket (``api/kernels/{id}/channels``), one cell at a time, with history stored as
IPython stores it for a notebook cell.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
import websocket


class CellError(AssertionError):
    """The cell raised: ``ename``, ``evalue`` and the traceback's text."""

    def __init__(self, ename: str, evalue: str, traceback: str):
        super().__init__(f"{ename}: {evalue}\n{traceback}")
        self.ename, self.evalue = ename, evalue


@dataclass
class CellOutput:
    stdout: str = ""
    stderr: str = ""
    result: str | None = None  # text/plain of the cell's value
    html: str | None = None  # text/html of the cell's value
    displays: list[dict[str, Any]] = field(default_factory=list)


class NotebookKernel:
    """A kernel of the server at ``server_url`` (with ``token``), for the notebook ``path``.

    ``with NotebookKernel(url, token, "analysis.ipynb") as kernel: kernel.run("1 + 1").result``
    """

    def __init__(self, server_url: str, token: str, path: str = "analysis.ipynb", timeout: float = 120):
        self.server_url = server_url.rstrip("/") + "/"
        self.token = token
        self.path = path
        self.timeout = timeout
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.session_id = uuid.uuid4().hex
        self.kernel_id = ""
        self._session_model: dict[str, Any] = {}
        self.ws: websocket.WebSocket | None = None

    def start(self) -> NotebookKernel:
        reply = self.http.post(self.server_url + "api/sessions", json={
            "path": self.path, "name": self.path.rsplit("/", 1)[-1], "type": "notebook",
            "kernel": {"name": "python3"}}, timeout=60)
        reply.raise_for_status()
        self._session_model = reply.json()
        self.kernel_id = self._session_model["kernel"]["id"]
        ws_url = self.server_url.replace("http", "ws", 1) + f"api/kernels/{self.kernel_id}/channels"
        self.ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"],
                                              timeout=self.timeout)
        # The first execution waits for the kernel to be ready.
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                self.run("pass", timeout=10)
                return self
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise

    def run(self, code: str, timeout: float | None = None) -> CellOutput:
        """Execute a cell; its output, or ``CellError`` if it raised."""
        assert self.ws is not None
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session_id,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": dt.datetime.now(dt.UTC).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out = CellOutput()
        error: CellError | None = None
        deadline = time.monotonic() + (timeout or self.timeout)
        idle = replied = False
        while not (idle and replied):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"the cell did not finish in {timeout or self.timeout} s: {code[:200]}")
            self.ws.settimeout(remaining)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    out.stdout += content["text"]
                else:
                    out.stderr += content["text"]
            elif kind == "execute_result":
                out.result = content["data"].get("text/plain")
                out.html = content["data"].get("text/html")
            elif kind == "display_data":
                out.displays.append(content["data"])
            elif kind == "error":
                error = CellError(content["ename"], content["evalue"], "\n".join(content["traceback"]))
            elif kind == "status" and content["execution_state"] == "idle":
                idle = True
            elif kind == "execute_reply":
                replied = True
        if error is not None:
            raise error
        return out

    def value(self, expression: str) -> Any:
        """The value of a JSON-able expression in the kernel."""
        out = self.run(f"import json as _json; print(_json.dumps({expression}))")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.ws is not None:
            self.ws.close()
            self.ws = None
        if self._session_model:
            self.http.delete(self.server_url + f"api/sessions/{self._session_model['id']}", timeout=30)
            self._session_model = {}
        self.http.close()

    def __enter__(self) -> NotebookKernel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
