"""The base of every API handler: identity, JSON in and out, errors, one transaction per request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from ..catalogue.errors import BadRequest, CatalogueError, NotFound
from ..catalogue.queries import DEFAULT_LIMIT, ListQuery

M = TypeVar("M", bound=pydantic.BaseModel)
MAX_ID = 2**63 - 1
ACT_AS_HEADER = "X-Scopehub-Act-As"


def operation(summary: str, *, body: type[pydantic.BaseModel] | None = None, reply: Any = None,
              status: int = 200, query: tuple[str, ...] = (), errors: tuple[int, ...] = (),
              binary: str | None = None, multipart: bool = False,
              upload: dict[str, Any] | None = None) -> Callable:
    """Describe one verb for ``openapi.json`` and require an authenticated caller for it.

    ``web.authenticated`` must be the outermost wrapper: jupyter_server looks for it there when
    ``allow_unauthenticated_access`` is off.
    """

    def decorate(method: Callable) -> Callable:
        wrapped = web.authenticated(method)
        wrapped.__openapi__ = {"summary": summary, "body": body, "reply": reply, "status": status,
                               "query": query, "errors": errors, "binary": binary, "multipart": multipart,
                               "upload": upload,  # more request media types, e.g. a raw file body
                               "doc": (method.__doc__ or "").strip()}
        return wrapped

    return decorate


def path_id(text: str) -> int:
    """An id from the URL; one past what PostgreSQL can hold simply does not exist."""
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no object has id {text}")
    return value


class ScopehubHandler(ExtensionHandlerMixin, APIHandler):
    """Thin adapter from HTTP to the catalogue managers; every verb goes through :meth:`call`."""

    needs_caller = True  # resolve the catalogue caller in prepare() (the hub client forwards instead)

    @property
    def scopehub(self):
        return self.settings["scopehub"]

    # ---- identity ------------------------------------------------------------------------
    async def prepare(self) -> None:
        try:
            await super().prepare()
        except web.HTTPError as e:
            if e.status_code == 403 and getattr(self, "_jupyter_current_user", None) is None:
                raise self._no_identity() from None
            raise
        if getattr(self, "_jupyter_current_user", None) is None:
            raise self._no_identity()
        self.caller = None
        if self.needs_caller:
            # Who the caller is, and whether their token may write at all, is settled before any input
            # is looked at: a read-only token gets 403 whatever it sends.
            await self.get_caller()

    def _no_identity(self) -> web.HTTPError:
        # The hub service's identity provider says when a real token lacks access to the service (403);
        # otherwise there is no identity at all (401).
        refused = getattr(self, "_scopehub_refused", None)
        return web.HTTPError(403, refused) if refused else web.HTTPError(401, "authentication required")

    def get_login_url(self) -> str:
        # Never a redirect to a login page from an API route.
        raise web.HTTPError(401, "authentication required")

    async def get_caller(self):
        if self.caller is None:
            act_as = self.request.headers.get(ACT_AS_HEADER)
            self.caller = await self.scopehub.identity.caller_for(
                self.current_user, act_as, self.request.method, self.request.path)
        return self.caller

    async def call(self, fn: Callable, *args, **kwargs) -> Any:
        """Run a manager method for the caller, in one transaction on the database threads."""
        caller = await self.get_caller()
        return await self.scopehub.db.run(fn, caller, *args, **kwargs)

    async def read(self, fn: Callable, *args, **kwargs) -> Any:
        """Run a one-statement read for the caller on a plain connection (``Database.read``)."""
        caller = await self.get_caller()
        return await self.scopehub.db.run_read(fn, caller, *args, **kwargs)

    # ---- input ---------------------------------------------------------------------------
    def body(self, model: type[M]) -> M:
        if not self.request.body:
            raise BadRequest("this request needs a JSON body")
        try:
            return model.model_validate_json(self.request.body)
        except pydantic.ValidationError as e:
            raise ValidationFailed(e) from None

    def fields(self, model: type[M]) -> dict[str, Any]:
        """The fields the client actually sent; unset and null ones leave the object untouched on PATCH."""
        return self.body(model).model_dump(exclude_unset=True, exclude_none=True)

    def int_arg(self, name: str, default: int | None = None, low: int = 0, high: int = MAX_ID) -> int | None:
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise BadRequest(f"{name} must be a whole number") from None
        if not low <= value <= high:
            raise BadRequest(f"{name} must be between {low} and {high}")
        return value

    def bool_arg(self, name: str) -> bool:
        text = (self.get_query_argument(name, "") or "").lower()
        if text in ("", "0", "false", "no"):
            return False
        if text in ("1", "true", "yes"):
            return True
        raise BadRequest(f"{name} must be true or false")

    def list_query(self, parent: str | None = None) -> ListQuery:
        q = self.get_query_argument("q", None)
        if q is not None and len(q) > 1000:
            raise BadRequest("q must be at most 1000 characters")
        return ListQuery(
            offset=self.int_arg("offset", 0, 0, 2**62),
            limit=self.int_arg("limit", DEFAULT_LIMIT, 0, 2**62),
            owner=self.int_arg("owner", None, 1),
            group=self.int_arg("group", None, 1),
            q=q,
            order=self.get_query_argument("order", "name"),
            parent=self.int_arg(parent, None, 1) if parent else None,
            orphaned=self.bool_arg("orphaned") if parent else False,
        )

    def expected_version(self, fields: dict[str, Any]) -> int | None:
        """The version a PATCH was based on: ``If-Match`` or ``version`` in the body."""
        version = fields.pop("version", None)
        header = self.request.headers.get("If-Match")
        if header:
            try:
                version = int(header.strip('W/"'))
            except ValueError:
                raise BadRequest("If-Match must hold the version you read") from None
        return version

    # ---- output --------------------------------------------------------------------------
    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(data, dict) and "version" in data and "id" in data:
            self.set_header("ETag", f'"{data["version"]}"')
        self._finish_timed(json.dumps(data))

    def reply_json_text(self, text: str, status: int = 200) -> None:
        """Write JSON that is already text (built by PostgreSQL, say) without parsing it again."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self._finish_timed(text)

    def _finish_timed(self, text: str) -> None:
        # How long the server worked on the request, reply encoded (the W3C header browsers show).
        self.set_header("Server-Timing", f"app;dur={self.request.request_time() * 1000:.1f}")
        self.finish(text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        error: dict[str, Any]
        if isinstance(exc, ValidationFailed):
            status_code, error = 400, {"code": "invalid", "message": exc.message, "details": exc.details}
        elif isinstance(exc, CatalogueError):
            status_code, error = exc.status, {"code": exc.code, "message": exc.message}
        elif isinstance(exc, web.HTTPError):
            codes = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                     413: "too_large"}
            error = {"code": codes.get(status_code, "error"), "message": exc.log_message or self._reason}
        else:
            error = {"code": "internal", "message": "internal error; the server log has the details"}
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": error}))

    def log_exception(self, typ, value, tb) -> None:
        if isinstance(value, CatalogueError):
            self.log.info("%s %s: %s %s", self.request.method, self.request.uri, value.status, value.message)
            return
        super().log_exception(typ, value, tb)

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CatalogueError):
            status_code = exc.status
        super().send_error(status_code, **kwargs)


class ValidationFailed(BadRequest):
    """A request body that does not fit its schema; ``details`` says where."""

    def __init__(self, error: pydantic.ValidationError):
        self.details = [{"loc": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                        for e in error.errors(include_url=False, include_input=False)]
        first = self.details[0]
        super().__init__(f"{first['loc'] or 'body'}: {first['message']}" if first["loc"] else first["message"])
