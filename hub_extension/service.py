"""The scopehub JupyterHub service: the catalogue for a whole hub, at ``/services/scopehub/``.

It is a jupyter_server ``ServerApp`` cut down to scopehub alone, as jupyter_server invites
subclasses to do (``default_services``): no contents, no kernels, no terminals, no other extension,
so a hub user who reaches it can do nothing but call the API. It authenticates with JupyterHub
(OAuth for browsers, tokens for programs, through ``HubIdentityProvider``), and serves the very
same handlers as standalone mode under ``api/v1/``, with hub users, groups and scopes as callers
(``HubIdentity``), and the catalogue's admin pages at its root (``admin.py``, ``pages.py``). It is
the only process that holds the database credentials and writes the store.

The hub starts it (``configure`` registers ``python -m scopehub.hub_extension``) with
``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_SERVICE_PREFIX`` and its API token in the environment.
"""

from __future__ import annotations

import os
import signal
from urllib.parse import urlparse

from jupyter_server.serverapp import ServerApp
from traitlets import default

# The catalogue's API, and the admin pages over it.
SERVICE_EXTENSIONS = {"scopehub.server_extension": True, "scopehub.hub_extension": True}


class ScopehubServiceApp(ServerApp):
    """``python -m scopehub.hub_extension``: the hub-managed scopehub service."""

    name = "scopehub-service"
    description = "The scopehub catalogue as a JupyterHub service."
    # Only the base handlers: no contents, kernels, terminals or files (see the module docstring).
    default_services = ()

    @default("ip")
    def _default_ip(self) -> str:
        return _service_url().hostname or "127.0.0.1"

    @default("port")
    def _default_port(self) -> int:
        return _service_url().port or 10101

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/services/scopehub/"

    @default("identity_provider_class")
    def _default_identity_provider_class(self) -> type:
        from .auth import HubIdentityProvider

        return HubIdentityProvider

    @default("open_browser")
    def _default_open_browser(self) -> bool:
        return False

    @default("allow_remote_access")
    def _default_allow_remote_access(self) -> bool:
        # Requests arrive through the hub's proxy with the public Host; every route authenticates.
        return True

    @default("cookie_secret_file")
    def _default_cookie_secret_file(self) -> str:
        return os.path.join(_data_dir(), "service_cookie_secret")

    @default("runtime_dir")
    def _default_runtime_dir(self) -> str:
        # The server's info file names its token (the service's hub token): keep it with the service's data.
        path = os.path.join(_data_dir(), "runtime")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    @default("allow_root")
    def _default_allow_root(self) -> bool:
        # jupyter_server refuses root because a notebook server runs user code; this one runs none
        # (no kernels, no terminals), and a hub that runs as root starts its services as root.
        return True

    @default("port_retries")
    def _default_port_retries(self) -> int:
        return 0  # the hub proxies to exactly this port

    def find_server_extensions(self) -> None:
        # Exactly scopehub's, whatever else is installed and enabled in this environment.
        self.jpserver_extensions = dict(SERVICE_EXTENSIONS)

    def init_webapp(self) -> None:
        super().init_webapp()
        # As in JupyterHub's own single-user server: tornado's XSRF check runs before authentication,
        # too early to know a token-authenticated request; jupyter_server checks it again, unconditionally,
        # once the user is known (cookie-authenticated writes still need the XSRF token).
        self.web_app.settings["xsrf_cookies"] = False

    def init_signal(self) -> None:
        # The hub stops managed services with SIGINT (and systemd with SIGTERM): stop at once, cleanly,
        # without jupyter_server's interactive "shut down? (y/n)" on SIGINT.
        super().init_signal()
        signal.signal(signal.SIGINT, self._signal_stop)

    def initialize(self, argv=None, find_extensions: bool = True, new_httpserver: bool = True,
                   starter_extension=None) -> None:
        self.config.ScopehubApp.mode = "hub-service"
        self.config.ScopehubApp.identity_class = "scopehub.hub_extension.identity.HubIdentity"
        super().initialize(argv, find_extensions=find_extensions, new_httpserver=new_httpserver,
                           starter_extension=starter_extension)


def _data_dir() -> str:
    from ..server_extension.defaults import default_data_dir

    return default_data_dir()


def _service_url():
    return urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101")


main = launch_new_instance = ScopehubServiceApp.launch_instance
