"""A tiny HTTP proxy that counts what passes through it: requests, paths and bytes of the replies.

Tests put it between a client and the server to see what the client really fetched, without
trusting the client's own account of it.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length"}


class CountingProxy:
    """``with CountingProxy("http://127.0.0.1:8888/") as proxy: ... proxy.url ... proxy.requests``."""

    def __init__(self, target: str):
        self.target = target.rstrip("/")
        self.requests: list[tuple[str, str, int, int]] = []  # (method, path, status, reply bytes)
        self._lock = threading.Lock()
        proxy = self
        upstream = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                reply = upstream.request(self.command, proxy.target + self.path, headers=headers, data=body,
                                         allow_redirects=False, timeout=120)
                content = reply.content
                with proxy._lock:
                    proxy.requests.append((self.command, self.path, reply.status_code, len(content)))
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _forward

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    @property
    def bytes(self) -> int:
        with self._lock:
            return sum(size for *_, size in self.requests)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
