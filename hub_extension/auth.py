"""How the service knows who is calling: JupyterHub OAuth for browsers, hub tokens for programs.

JupyterHub's own ``JupyterHubIdentityProvider`` (the one every hub user's server runs) does the
work: it asks the hub about the ``Authorization: token ...`` header or the service's OAuth cookie,
caches the answer, and checks the ``access:services!service=scopehub`` scope. This subclass only
changes what a refusal looks like: an API route answers 401 (no identity, or a forged or expired
token) or 403 (a real token without access to the service) as JSON, and never redirects; the admin
pages still send a browser through the hub's OAuth login.
"""

from __future__ import annotations

import time
from typing import Any

from jupyterhub.services.auth import HubOAuth
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubUser
from tornado import web
from tornado.log import app_log
from traitlets import Integer, default

REFUSED = "_scopehub_refused"


class ScopehubHubOAuth(HubOAuth):
    """JupyterHub's HubOAuth that rides out a hub restart.

    The hub's answer about a token is cached for ``cache_max_age``; after that every request asks
    the hub again, so while the hub restarts every request would fail (500). When the hub cannot be
    reached, the last answer it gave about the token is used instead, for up to ``outage_grace``
    seconds. A token the hub refused is never accepted this way, and a revocation takes effect as soon
    as the hub can say so.
    """

    outage_grace = Integer(
        600,
        config=True,
        help="""Seconds for which the hub's last answer about a token still counts while the hub cannot be
        reached (a hub restart). 0 turns this off: then every request fails until the hub is back.""",
    )

    @default("cache_max_age")
    def _default_cache_max_age(self) -> int:
        # How long the hub's answer about a token (its user, groups, scopes) is trusted: a change of
        # groups in the hub reaches the catalogue within this (JupyterHub's default is 300 s).
        return 60

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._last_answers: dict[str, tuple[float, dict]] = {}

    async def _check_hub_authorization(self, url, api_token, cache_key=None, use_cache=True):
        # Overrides a private method of HubAuth (JupyterHub 5 and 6 have the same signature).
        try:
            data = await super()._check_hub_authorization(url, api_token, cache_key=cache_key, use_cache=use_cache)
        except web.HTTPError as exc:
            last = self._last_answers.get(cache_key or "")
            if exc.status_code >= 500 and last and time.monotonic() - last[0] < self.outage_grace:
                app_log.warning("The hub did not answer (%s); using its last answer about this token", exc.log_message)
                return last[1]
            raise
        if cache_key is not None:
            if data is None:
                self._last_answers.pop(cache_key, None)
            else:
                now = time.monotonic()
                self._last_answers[cache_key] = (now, data)
                if len(self._last_answers) > 10_000:  # forget answers too old to be used
                    self._last_answers = {k: v for k, v in self._last_answers.items()
                                          if now - v[0] < self.outage_grace}
        return data


class HubIdentityProvider(JupyterHubIdentityProvider):
    """Hub users as jupyter_server users; a token without access to the service is a 403."""

    @default("hub_auth")
    def _default_hub_auth(self) -> ScopehubHubOAuth:
        return ScopehubHubOAuth(parent=self)

    async def get_user(self, handler: web.RequestHandler) -> JupyterHubUser | None:
        user = await super().get_user(handler)
        if user is None and getattr(handler, "_jupyterhub_user", None) is None:
            model = await self._hub_model(handler)
            if model is not None:
                # Authenticated by the hub, but the token may not use this service.
                setattr(handler, REFUSED, f"{model.get('kind', 'user')} {model.get('name')} may not use this "
                                          "service (the token lacks access:services!service=scopehub)")
        return user

    async def _hub_model(self, handler: web.RequestHandler) -> dict[str, Any] | None:
        # Cached by HubAuth for the token, so asking again costs no round trip to the hub.
        token = self.hub_auth.get_token(handler, in_cookie=False)
        if not token:
            return None
        return await self.hub_auth.user_for_token(token, use_cache=True, sync=False)


def refusal(handler: web.RequestHandler) -> str | None:
    """Why the hub's identity was refused for this request, if it was."""
    return getattr(handler, REFUSED, None)
