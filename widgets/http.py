"""The HTTP session to the API: the token on every request, pooled connections, errors as exceptions."""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from .errors import BY_STATUS, ConnectionFailed, ScopehubError

# Enough pooled connections for the parallel chunk uploads and pixel reads.
POOL_SIZE = 16
TIMEOUT = 120  # seconds without a byte before a request fails
# Requests that are safe to repeat are retried this many times when the connection (not the server) fails.
RETRIES = 3


class Http:
    """Requests to ``api_url`` (``.../scopehub/api/v1/``) with ``Authorization: token ...``."""

    def __init__(self, api_url: str, token: str, act_as: str | None = None):
        self.api_url = api_url.rstrip("/") + "/"
        self.token = token
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "scopehub-client"
        self.session.headers.update(self.headers_for(token, act_as))
        self.act_as = act_as

    @staticmethod
    def headers_for(token: str, act_as: str | None) -> dict[str, str]:
        headers = {"Authorization": f"token {token}"} if token else {}
        if act_as:
            headers["X-Scopehub-Act-As"] = act_as  # an admin acting as another user
        return headers

    @property
    def headers(self) -> dict[str, str]:
        """The headers that say who a request is from (for other HTTP clients, such as fsspec's)."""
        return self.headers_for(self.token, self.act_as)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path.lstrip("/")

    def request(self, method: str, path: str, *, idempotent: bool | None = None, **kwargs: Any) -> requests.Response:
        """One request; a reply of 400 or more raises the matching :class:`ScopehubError` with the server's message.

        GET, PUT and DELETE are retried when the connection fails (never when the server answered).
        """
        url = self.url(path)
        kwargs.setdefault("timeout", TIMEOUT)
        kwargs.setdefault("allow_redirects", False)
        retry = method in ("GET", "PUT", "DELETE", "HEAD") if idempotent is None else idempotent
        attempts = RETRIES if retry else 1
        for attempt in range(attempts):
            try:
                response = self.session.request(method, url, **kwargs)
                break
            except requests.ConnectionError as e:
                if attempt + 1 == attempts:
                    raise ConnectionFailed(f"could not reach scopehub at {self.api_url}: {_reason(e)}", method=method,
                                           url=url) from None
                time.sleep(0.2 * 2**attempt)
            except requests.Timeout:
                raise ConnectionFailed(f"scopehub at {self.api_url} did not answer within {kwargs['timeout']} s",
                                       method=method, url=url) from None
        if response.status_code >= 400:
            raise error_from(response, method, url)
        if 300 <= response.status_code < 400:
            # The API never redirects; a redirect means a login page (a wrong URL or token).
            raise error_from(response, method, url)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return response.json() if response.content else None

    def get(self, path: str, **params: Any) -> Any:
        return self.json("GET", path, params={k: v for k, v in params.items() if v is not None})

    def close(self) -> None:
        self.session.close()


def error_from(response: requests.Response, method: str, url: str) -> ScopehubError:
    """The exception for an error reply, carrying the server's code and message."""
    status = response.status_code
    code, message = "error", ""
    try:
        body = response.json()
        code, message = body["error"]["code"], body["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text.strip()[:300] or response.reason or ""
    if 300 <= status < 400:
        message = (f"the server answered with a redirect to {response.headers.get('Location', '?')}: is "
                   f"{url.split('?')[0]} the scopehub API, and is the token valid?")
    elif status == 401 and not message:
        message = "authentication required: the token is missing, wrong or expired"
    cls = BY_STATUS.get(status, ScopehubError)
    return cls(message or f"HTTP {status}", status=status, code=code, method=method, url=url.split("?")[0])


def _reason(error: Exception) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "timed out", "Failed to resolve"):
        if marker in text:
            return marker.lower()
    return text[:200]
