"""Hub-client mode: a hub user's Jupyter server forwards the API to the scopehub service.

The user's server holds no database and no store. Every request under ``{base_url}scopehub/api/v1/``
that the server has authenticated (its owner, through JupyterHub's own login) goes on to the service
with the server's own hub token (``JUPYTERHUB_API_TOKEN``), so the service sees the owner and applies
the owner's permissions and scopes. Bodies stream both ways: an upload of many gigabytes or a large
original never sits in this process's memory. Statuses, headers and error bodies pass through
unchanged, so front-end code and notebooks cannot tell the two modes apart.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Mapping

import aiohttp
import yarl
from jupyter_server.prometheus.log_functions import prometheus_log_method
from tornado import web
from tornado.log import access_log

from .api.base import ScopehubHandler
from .api.routes import API_PREFIX

# Request headers the service needs; everything else (cookies, the browser's own credentials) stays here.
# Spelt as tornado normalises header names, so that they can be looked up in its headers' keys.
FORWARDED_REQUEST_HEADERS = frozenset({"Accept", "Accept-Encoding", "Content-Type", "Content-Length",
                                       "Content-Disposition", "If-Match", "If-None-Match", "Range",
                                       "X-Scopehub-Act-As"})
# Hop-by-hop headers (RFC 9110 7.6.1) and those tornado sets itself.
NOT_FORWARDED_REPLY_HEADERS = {"connection", "keep-alive", "transfer-encoding", "server", "date",
                               "content-security-policy", "set-cookie", "access-control-allow-origin"}
# A reply up to this size is read whole and written in one go (tiles, JSON); larger ones stream.
WHOLE_REPLY = 4 << 20
STREAM_CHUNK = 1 << 20
# Request-body chunks queued between tornado and the upstream request: backpressure beyond this.
BODY_QUEUE = 8
# A body up to this size goes on with its headers; a larger one (or one of unknown size) waits for the
# service's "100 Continue" first, so that a refusal (413, 403) comes back as itself: the service closes
# the connection after refusing, and a body still being sent would turn its answer into a reset.
SEND_AT_ONCE = 1 << 20
MAX_FORWARDED_BODY = 1 << 40


class ServiceForwarder:
    """The connection pool to the service, shared by every forwarded request of this server."""

    def __init__(self, service_url: str, token: str, log: logging.Logger | None = None):
        self.api_url = service_url.rstrip("/") + "/api/v1"
        self._authorization = f"token {token}"
        self.log = log or logging.getLogger(__name__)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running loop; keep-alive connections are reused across requests.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64, ttl_dns_cache=300),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=600),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Content-Type"),
            )
        return self._session

    def headers_for(self, incoming: Mapping[str, str]) -> dict[str, str]:
        # One pass over the few headers a request has (tornado joins a repeated header's values).
        headers = {name: value for name in incoming if name in FORWARDED_REQUEST_HEADERS
                   and (value := incoming[name])}
        headers["Authorization"] = self._authorization
        return headers

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


@web.stream_request_body
class ForwardingHandler(ScopehubHandler):
    """Every verb of every API route, forwarded to the service as the server's owner."""

    needs_caller = False  # the service finds the caller
    _body: asyncio.Queue[bytes | None] | None = None
    _upstream: asyncio.Task | None = None
    _answered = False  # the service has answered: the rest of the request body, if any, is dropped

    @property
    def forwarder(self) -> ServiceForwarder:
        return self.settings["scopehub_forwarder"]

    async def prepare(self) -> None:
        await super().prepare()  # 401 without an identity, as every API route
        if self.request.method in ("POST", "PUT", "PATCH", "DELETE"):
            self._body = asyncio.Queue(BODY_QUEUE)
            # The service enforces its own upload limit (and answers 413); this server must not cut
            # a large upload short at jupyter_server's max_body_size first.
            self.request.connection.set_max_body_size(MAX_FORWARDED_BODY)
        self._upstream = asyncio.ensure_future(self._forward())

    async def data_received(self, chunk: bytes) -> None:
        if self._body is not None and not self._answered:
            await self._body.put(chunk)

    async def _body_chunks(self) -> AsyncIterator[bytes]:
        assert self._body is not None
        while (chunk := await self._body.get()) is not None:
            yield chunk

    async def _forward(self) -> None:
        # The path and query as the client sent them, still percent-encoded: passed on unchanged (and
        # not decoded and encoded again, which costs time and could change them).
        path = self.request.path[len(self.base_url) + len(API_PREFIX):]
        query = self.request.query
        url = yarl.URL(f"{self.forwarder.api_url}{path}?{query}" if query else self.forwarder.api_url + path,
                       encoded=True)
        headers = self.forwarder.headers_for(self.request.headers)
        # A body without Content-Length goes on chunked (aiohttp does that for a stream of unknown size).
        data = self._body_chunks() if self._body is not None else None
        length = self.request.headers.get("Content-Length")
        expect = data is not None and not (length is not None and length.isdigit() and int(length) <= SEND_AT_ONCE)
        try:
            async with self.forwarder.session.request(self.request.method, url, data=data, headers=headers,
                                                      allow_redirects=False, expect100=expect) as reply:
                self.set_status(reply.status, reply.reason)
                self.clear_header("Content-Type")
                for name, value in reply.headers.items():
                    if name.lower() not in NOT_FORWARDED_REPLY_HEADERS:
                        self.add_header(name, value)
                # APIHandler.finish sets Content-Type (JSON unless told): tell it the service's.
                media = reply.headers.get("Content-Type", "application/json")
                if reply.content_length is not None and reply.content_length <= WHOLE_REPLY:
                    self.finish(await reply.read(), set_content_type=media)
                    return
                async for chunk in reply.content.iter_chunked(STREAM_CHUNK):
                    self.write(chunk)
                    await self.flush()
                self.finish(set_content_type=media)
        except aiohttp.ClientError as exc:
            self.log.warning("scopehub service at %s: %s", self.forwarder.api_url, exc)
            if not self._headers_written:
                self.clear()
                self.set_status(502)
                self.set_header("Content-Type", "application/json")
                self.finish(json.dumps({"error": {
                    "code": "service_unavailable",
                    "message": "the scopehub service did not answer; try again in a moment"}}))
        finally:
            if self._body is not None:
                # An answer before the whole body (a refusal): tornado delivers no more of it, and
                # closes the client's connection once the answer is out; free a chunk waiting for room.
                self._answered = True
                while not self._body.empty():
                    self._body.get_nowait()

    async def _finish_forwarding(self, *args: str) -> None:
        if self._body is not None and not self._answered:
            await self._body.put(None)  # the end of the request body
        assert self._upstream is not None
        await self._upstream

    def _log(self) -> None:
        # JupyterHub's access log writes every request at INFO, which for a viewer is hundreds of tiles a
        # minute. A forwarded success is logged at DEBUG instead, as jupyter_server logs its own API's
        # successes, and still counted in the request metrics; anything else goes to the server's own
        # log function, as before.
        status = self.get_status()
        if status >= 400:
            super()._log()
            return
        prometheus_log_method(self)
        if access_log.isEnabledFor(logging.DEBUG):
            access_log.debug("%d %s %.2fms", status, self._request_summary(), 1000.0 * self.request.request_time())

    def on_connection_close(self) -> None:
        # The client went away: stop the upstream request (and its upload) too.
        if self._upstream is not None and not self._upstream.done():
            self._upstream.cancel()

    @web.authenticated
    async def get(self, *args: str) -> None:
        await self._finish_forwarding()

    head = options = post = put = patch = delete = get
