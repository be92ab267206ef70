"""``configure(c)``: scopehub for a whole JupyterHub, in one line of ``jupyterhub_config.py``.

    from scopehub.hub_extension import configure
    configure(c, data_dir="/srv/scopehub", writers=["*"], admins=["imaging-facility"])

It registers the managed service, declares the custom scopes, gives hub users and groups their
scopes through roles, lets each user's server token carry them, and tells user servers to forward
the API to the service. Everything it sets is ordinary JupyterHub configuration, listed in
``docs/admin/hub.md``; set anything after it to change what it did.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from typing import Any

READ = "custom:scopehub:read"
WRITE = "custom:scopehub:write"
ADMIN = "custom:scopehub:admin"
EVERYONE = "*"

SCOPES = {
    READ: {"description": "Browse and view images, their metadata and annotations in scopehub."},
    WRITE: {"description": "Import images, create and annotate data in scopehub, within its group permissions.",
            "subscopes": [READ]},
    ADMIN: {"description": "Manage every group, user and object of the scopehub catalogue.",
            "subscopes": [WRITE]},
}


def configure(
    c: Any,
    *,
    name: str = "scopehub",
    url: str = "http://127.0.0.1:10101",
    data_dir: str | None = None,
    database_url: str | None = None,
    readers: Iterable[str] = (),
    writers: Iterable[str] = (EVERYONE,),
    admins: Iterable[str] = (),
    managed: bool = True,
    api_token: str | None = None,
    public_url: str = "",
    service_args: Iterable[str] = (),
    service_environment: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Set up the scopehub service on a JupyterHub config object ``c``; return the service entry.

    - ``name``: the service's name; it is served at ``/services/{name}/``.
    - ``url``: where the service listens, as the hub and the user servers reach it.
    - ``data_dir``: the service's data folder (the store, and the embedded PostgreSQL unless
      ``database_url`` is given). Default: ``scopehub-data`` in the hub's working folder.
    - ``database_url``: an external PostgreSQL (``postgresql://user:password@host/db``). Only the
      service's environment gets it; user servers never do.
    - ``readers``, ``writers``, ``admins``: hub group names whose members get
      ``custom:scopehub:read``, ``write`` (which includes read) or ``admin`` (which includes both);
      ``"*"`` means every hub user. By default every user may read and write, and only hub admins
      administer the catalogue.
    - ``managed``: the hub starts and stops the service (``python -m scopehub.hub_extension``).
      ``False`` registers a service that runs on its own at ``url`` (its own deployment on
      Kubernetes, or a systemd unit), so that restarting the hub does not touch it: then give
      ``api_token`` (a secret you make, e.g. ``openssl rand -hex 32``) and run the service with
      the environment :func:`external_service_environment` returns.
    - ``public_url``: the hub's public URL (``https://hub.example.org``); an external service needs it
      to send browsers to the hub's login.
    - ``service_args``: more command-line options for the service, such as
      ``--ScopehubApp.import_roots=['/data']``; ``service_environment``: more environment.
    """
    service_prefix = f"/services/{name}/"
    service: dict[str, Any] = {
        "name": name,
        "url": url,
        "display": True,  # listed in the hub's Services menu
        "oauth_no_confirm": True,  # the catalogue is part of the hub, not a third party
        "oauth_client_allowed_scopes": [READ, WRITE, ADMIN],
    }
    if not managed:
        if not api_token:
            raise ValueError("an external scopehub service (managed=False) needs api_token")
        service.update(api_token=api_token, oauth_client_id=f"service-{name}",
                       oauth_redirect_uri=public_url.rstrip("/") + service_prefix + "oauth_callback")
    if managed:
        environment = {"SCOPEHUB_DATA_DIR": data_dir or _default_data_dir()}
        if database_url:
            environment["SCOPEHUB_DATABASE_URL"] = database_url
        environment.update(service_environment or {})
        # -P: the hub's working folder (which may hold a folder named like a package) is not on sys.path.
        service["command"] = [sys.executable, "-P", "-m", "scopehub.hub_extension", *service_args]
        service["environment"] = environment
    hub = c.JupyterHub
    hub.services = [*_value(hub, "services", []), service]
    hub.custom_scopes = {**_value(hub, "custom_scopes", {}), **SCOPES}
    hub.load_roles = _with_roles(_value(hub, "load_roles", []), name, readers, writers, admins)

    access = f"access:services!service={name}"
    spawner = c.Spawner
    # A user server's token carries the subset of these that its owner holds.
    default_server_scopes = ["users:activity!user", "access:servers!server"]
    spawner.server_token_scopes = sorted({*_value(spawner, "server_token_scopes", default_server_scopes),
                                          access, READ, WRITE, ADMIN})
    spawner.environment = {
        **_value(spawner, "environment", {}),
        "SCOPEHUB_MODE": "hub-client",
        "SCOPEHUB_SERVICE_URL": url.rstrip("/") + service_prefix,
    }
    return service


def external_service_environment(*, name: str = "scopehub", url: str = "http://127.0.0.1:10101",
                                 api_token: str, hub_api_url: str = "http://127.0.0.1:8081/hub/api",
                                 public_url: str = "", data_dir: str, database_url: str | None = None
                                 ) -> dict[str, str]:
    """The environment of an external service (``configure(managed=False)``), as the hub gives a managed one.

    Run ``python -m scopehub.hub_extension`` with it (a Kubernetes deployment, a systemd unit).
    """
    prefix = f"/services/{name}/"
    environment = {
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_API_TOKEN": api_token,
        "JUPYTERHUB_API_URL": hub_api_url,
        "JUPYTERHUB_BASE_URL": "/",
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_SERVICE_URL": url,
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_OAUTH_CALLBACK_URL": prefix + "oauth_callback",
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([f"access:services!service={name}"]),
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": json.dumps([READ, WRITE, ADMIN]),
        "JUPYTERHUB_HOST": public_url.rstrip("/"),
        "SCOPEHUB_DATA_DIR": data_dir,
    }
    if database_url:
        environment["SCOPEHUB_DATABASE_URL"] = database_url
    return environment


def _with_roles(roles: list[dict], name: str, readers: Iterable[str], writers: Iterable[str],
                admins: Iterable[str]) -> list[dict]:
    access = f"access:services!service={name}"
    roles = [dict(role) for role in roles]
    for level, scope, members in (("readers", READ, readers), ("writers", WRITE, writers),
                                  ("admins", ADMIN, admins)):
        members = list(members)
        groups = [g for g in members if g != EVERYONE]
        if EVERYONE in members:
            # Every user holds the built-in "user" role: add to it (keeping what it already had).
            user_role = next((r for r in roles if r["name"] == "user"), None)
            if user_role is None:
                user_role = {"name": "user", "scopes": ["self"]}
                roles.append(user_role)
            user_role["scopes"] = sorted({*user_role.get("scopes", ["self"]), access, scope})
        if groups:
            roles.append({"name": f"{name}-{level}", "description": f"scopehub {level}",
                          "scopes": [access, scope], "groups": groups})
    return roles


def _value(section: Any, key: str, fallback: Any) -> Any:
    """What an earlier line of the config file set, or ``fallback``."""
    return section.get(key, fallback)


def _default_data_dir() -> str:
    import os

    return os.path.join(os.getcwd(), "scopehub-data")
