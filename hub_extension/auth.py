"""How the service knows who is calling: JupyterHub OAuth for browsers, hub tokens for programs.

JupyterHub's own ``JupyterHubIdentityProvider`` (the one every hub user's server runs) does the
work: it asks the hub about the ``Authorization: token ...`` header or the service's OAuth cookie,
caches the answer, and checks the ``access:services!service=scopehub`` scope. This subclass only
changes what a refusal looks like: an API route answers 401 (no identity, or a forged or expired
token) or 403 (a real token without access to the service) as JSON, and never redirects; the admin
pages still send a browser through the hub's OAuth login.
"""

from __future__ import annotations

from typing import Any

from jupyterhub.singleuser.extension import JupyterHubIdentityProvider, JupyterHubUser
from tornado import web

REFUSED = "_scopehub_refused"


class HubIdentityProvider(JupyterHubIdentityProvider):
    """Hub users as jupyter_server users; a token without access to the service is a 403."""

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
