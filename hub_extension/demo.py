"""``make hub-demo``: a real JupyterHub with scopehub, to try hub mode (and what the tests start).

One embedded PostgreSQL holds both the hub's own tables and the catalogue. The dummy authenticator
lets alice (a hub admin), bob and carol in with any password; they are in two groups of different
permission levels (lab-a: alice and bob, read-annotate; lab-b: carol, read-only). Each user's
JupyterLab runs under the user's own system account (the local process spawner, as root; the
accounts are made if missing), so user code can read neither the service's environment nor its
files. Sample images are imported by bob and carol through the API, so they own them.

    python -m scopehub.hub_extension.demo --port 8000      # what `make hub-demo` runs

Everything lives in one working folder (``hub-demo/`` by default) and stops on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

DEMO_USERS = {"alice": True, "bob": False, "carol": False}  # name -> hub admin
DEMO_GROUPS = {"lab-a": ["alice", "bob"], "lab-b": ["carol"]}
DEMO_LEVELS = {"lab-a": "read-annotate", "lab-b": "read-only"}
ADMIN_SERVICE = "demo-admin"  # a service whose token the launcher uses to manage users and tokens
ADMIN_SCOPES = ["admin:users", "admin:servers", "admin:groups", "tokens", "list:users", "read:users",
                "access:servers", "access:services"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class HubDemo:
    """A JupyterHub with scopehub, its embedded PostgreSQL and its users, in ``workdir``."""

    workdir: Path
    port: int = 8000
    users: Mapping[str, bool] = field(default_factory=lambda: dict(DEMO_USERS))
    groups: Mapping[str, Sequence[str]] = field(default_factory=lambda: dict(DEMO_GROUPS))
    levels: Mapping[str, str] = field(default_factory=lambda: dict(DEMO_LEVELS))
    readers: Sequence[str] = ()
    writers: Sequence[str] = ("*",)
    admins: Sequence[str] = ()
    import_roots: Sequence[str] = ()
    # Where users' servers run: "local" (each as its own system account; needs root) or "simple"
    # (all as the hub's own account, for a quick try without root).
    spawner: str = "local"
    database_url: str | None = None  # an external PostgreSQL for the catalogue, else the embedded one
    service_args: Sequence[str] = ()  # more options for the scopehub service (``--AdminPagesApp.page_size=10``)
    extra_config: str = ""
    service_args: Sequence[str] = ()  # more options for the scopehub service
    # False: the launcher runs the service as its own process (as systemd or Kubernetes would), and the
    # hub only routes to it, so restarting the hub leaves it alone.
    managed_service: bool = True
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        self.workdir = Path(self.workdir).absolute()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.service_port = free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.admin_token = ""
        self.service_token = ""
        self.proxy_token = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self.service_proc: subprocess.Popen[bytes] | None = None
        self.proxy_proc: subprocess.Popen[bytes] | None = None
        self._catalogue_url = ""
        self._pg = None
        self._log = None
        self.catalogue_url = ""  # the catalogue database's URL, once prepared

    # ---- set-up ---------------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        return self.url + "services/scopehub/api/v1/"

    @property
    def log_path(self) -> Path:
        return self.workdir / "hub.log"

    def prepare(self) -> None:
        """System accounts, the database, the config file: everything but the processes."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.spawner == "local":
            if os.geteuid() != 0:
                raise SystemExit("hub-demo: the local process spawner runs each user as their own system "
                                 "account, which needs root; use --spawner=simple to run them all as you")
            for name in self.users:
                ensure_system_user(name)
            check_interpreter_reachable(next(iter(self.users)))
        from scopehub.server_extension.database import EmbeddedPostgres, create_database

        hub_db = f"sqlite:///{self.workdir / 'jupyterhub.sqlite'}"
        if self.database_url is None:
            self._pg = EmbeddedPostgres(self.workdir / "pgdata")
            catalogue_url = self._pg.start()
            self._pg.require_private_socket()
            create_database(catalogue_url, "jupyterhub")
            hub_db = catalogue_url.set(database="jupyterhub").render_as_string(hide_password=False)
            catalogue = catalogue_url.render_as_string(hide_password=False)
        else:
            catalogue = self.database_url
        # Others may pass through the folder (the embedded PostgreSQL's own account must reach its data)
        # but not list it; what is secret in it is readable by root alone.
        os.chmod(self.workdir, 0o711)
        self.catalogue_url = catalogue
        self.admin_token = self.admin_token or secrets.token_hex(32)
        self.service_token = self.service_token or secrets.token_hex(32)
        self.proxy_token = self.proxy_token or secrets.token_hex(32)
        self._catalogue_url = catalogue
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(self._config(hub_db, catalogue))
        os.chmod(config, 0o600)

    def _config(self, hub_db: str, catalogue_url: str) -> str:
        bin_dir = Path(sys.executable).parent
        roots = list(self.import_roots)
        service_args = [f"--ScopehubApp.import_roots={json.dumps(roots)}", f"--log-level={self.log_level}",
                        *self.service_args]
        return f'''# Written by scopehub.hub_extension.demo: a throwaway hub for trying scopehub.
from scopehub.hub_extension import configure

c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_port = {self.hub_port}
# The proxy runs on its own (the launcher starts it, as a deployment would), so that restarting the
# hub interrupts nobody's traffic: a hub that starts its proxy kills it again when it restarts.
c.ConfigurableHTTPProxy.should_start = False
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = {self.proxy_token!r}
c.JupyterHub.db_url = {hub_db!r}
c.JupyterHub.cookie_secret_file = {str(self.workdir / "jupyterhub_cookie_secret")!r}
c.JupyterHub.log_level = {self.log_level!r}
# Users' servers keep running while the hub restarts.
c.JupyterHub.cleanup_servers = False

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {set(self.users)!r}
c.Authenticator.admin_users = {{name for name, admin in {dict(self.users)!r}.items() if admin}}
c.JupyterHub.load_groups = {{name: {{"users": users}} for name, users in {dict(self.groups)!r}.items()}}

c.JupyterHub.spawner_class = {"simple" if self.spawner == "simple" else "default"!r}
c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.http_timeout = 60
c.Spawner.start_timeout = 120
{"c.Spawner.args = ['--allow-root']" if self.spawner == "simple" and os.geteuid() == 0 else ""}
# The launcher's own token, to manage users, servers and tokens.
c.JupyterHub.services = [{{"name": {ADMIN_SERVICE!r}, "api_token": {self.admin_token!r}}}]
c.JupyterHub.load_roles = [{{"name": "demo-admin", "services": [{ADMIN_SERVICE!r}], "scopes": {ADMIN_SCOPES!r}}}]

service = configure(
    c,
    url="http://127.0.0.1:{self.service_port}",
    managed={self.managed_service!r},
    api_token={self.service_token if not self.managed_service else None!r},
    public_url={self.url!r},
    data_dir={str(self.workdir / "scopehub-data")!r},
    database_url={catalogue_url!r},
    readers={list(self.readers)!r},
    writers={list(self.writers)!r},
    admins={list(self.admins)!r},
    service_args={service_args!r},
)
# JupyterHub 6 gives up (and exits) when a managed service is not up within 30 s; a busy machine (CI, a
# test run beside others) can take longer to start a Jupyter server and upgrade an empty catalogue.
from jupyterhub.services.service import Service  # noqa: E402

if "timeout" in Service.class_trait_names():
    service["timeout"] = 300
{self.extra_config}
'''

    # ---- processes ------------------------------------------------------------------------------
    def start(self, timeout: float = 120) -> HubDemo:
        """Start the hub (which starts the proxy and the service) and wait until both answer."""
        if self._pg is None and not (self.workdir / "jupyterhub_config.py").exists():
            self.prepare()
        if self.proxy_proc is None:
            self.start_proxy()
        if not self.managed_service and self.service_proc is None:
            self.start_service()
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the hub writes to it until stop()
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "jupyterhub"), "-f", "jupyterhub_config.py"],
            cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self.proc.returncode}\n{self.log_tail()}")
            try:
                hub = requests.get(self.url + "hub/api/", timeout=2)
                service = requests.get(self.api_url, timeout=2)
                # The service answers 401 without a token once it is up (the proxy says 503 before).
                if hub.status_code == 200 and service.status_code == 401:
                    return
            except requests.RequestException:  # not listening yet, or too busy starting to answer
                pass
            time.sleep(0.25)
        raise RuntimeError(f"the hub or the scopehub service was not ready after {timeout:.0f} s\n{self.log_tail()}")

    def stop_hub(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Stop the hub process (it stops the service; users' servers and the proxy go on)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def start_proxy(self) -> None:
        """configurable-http-proxy, from the project's node_modules (npm ci) or the PATH."""
        proxy = str(_repo_node_bin() / "configurable-http-proxy")
        if not os.path.exists(proxy):
            proxy = shutil.which("configurable-http-proxy") or "configurable-http-proxy"
        hub = f"http://127.0.0.1:{self.hub_port}"
        with open(self.workdir / "proxy.log", "ab") as log:
            self.proxy_proc = subprocess.Popen(
                [proxy, "--ip", "127.0.0.1", "--port", str(self.port), "--api-ip", "127.0.0.1",
                 "--api-port", str(self.proxy_api_port), "--default-target", hub, "--error-target",
                 f"{hub}/hub/error", "--log-level", "warn"],
                env={**os.environ, "CONFIGPROXY_AUTH_TOKEN": self.proxy_token}, cwd=self.workdir,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def start_service(self) -> None:
        """Run the service as its own process (``managed_service=False``), with what the hub would give it."""
        from .config import external_service_environment

        env = {**os.environ, **external_service_environment(
            url=f"http://127.0.0.1:{self.service_port}", api_token=self.service_token,
            hub_api_url=f"http://127.0.0.1:{self.hub_port}/hub/api", public_url=self.url,
            data_dir=str(self.workdir / "scopehub-data"), database_url=self._catalogue_url)}
        roots = json.dumps(list(self.import_roots))
        with open(self.workdir / "service.log", "ab") as log:  # the child keeps its own copy of the file
            self.service_proc = subprocess.Popen(
                [sys.executable, "-P", "-m", "scopehub.hub_extension", f"--ScopehubApp.import_roots={roots}",
                 f"--log-level={self.log_level}", *self.service_args],
                cwd=self.workdir, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def stop_service(self, timeout: float = 30) -> None:
        if self.service_proc is not None and self.service_proc.poll() is None:
            self.service_proc.send_signal(signal.SIGTERM)
            try:
                self.service_proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.service_proc.kill()
                self.service_proc.wait()
        self.service_proc = None

    def stop(self) -> None:
        """Stop everything: users' servers, the hub, the service, the proxy, the database."""
        self._stop_user_servers()
        self.stop_hub()
        self.stop_service()
        if self.proxy_proc is not None:
            self.proxy_proc.terminate()
            self.proxy_proc.wait(30)
            self.proxy_proc = None
        if self._pg is not None:
            self._pg.stop()
            self._pg = None

    def _stop_user_servers(self, timeout: float = 15) -> None:
        """Stop every user server of this hub at once (asking the hub does it one by one, slowly)."""
        import psutil

        mine = f"127.0.0.1:{self.hub_port}/"
        servers = []
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if any("jupyterhub-singleuser" in a for a in proc.info["cmdline"] or ()) and \
                        mine in proc.environ().get("JUPYTERHUB_API_URL", ""):
                    servers.append(proc)
            except psutil.Error:
                continue
        for proc in servers:
            proc.terminate()
        _, alive = psutil.wait_procs(servers, timeout=timeout)
        for proc in alive:
            proc.kill()

    def wait_servers_stopped(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            users = self.hub_api("GET", "users").json()
            if not any(u.get("servers") for u in users):
                return
            time.sleep(0.5)

    def log_tail(self, lines: int = 60) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def service_pid(self) -> int:
        """The pid of the running scopehub service process."""
        if self.service_proc is not None:
            return self.service_proc.pid
        for proc in _children(self.proc.pid if self.proc else 0):
            if "scopehub.hub_extension" in " ".join(proc["cmdline"]):
                return proc["pid"]
        raise LookupError("the scopehub service is not running")

    # ---- the hub's API, as the launcher ---------------------------------------------------------
    def hub_api(self, method: str, path: str, ok: Sequence[int] = (200, 201, 202, 204), **kwargs: Any):
        r = requests.request(method, self.url + "hub/api/" + path,
                             headers={"Authorization": f"token {self.admin_token}"}, timeout=30, **kwargs)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} hub/api/{path}: {r.status_code} {r.text}")
        return r

    def token(self, user: str, scopes: Sequence[str] | None = None, note: str = "scopehub demo") -> str:
        """A new API token of ``user``, with the user's own permissions or fewer ``scopes``."""
        body: dict[str, Any] = {"note": note, "expires_in": 86400}
        if scopes is not None:
            body["scopes"] = list(scopes)
        return self.hub_api("POST", f"users/{user}/tokens", json=body).json()["token"]

    def start_server(self, user: str, timeout: float = 120) -> str:
        """Start ``user``'s server and wait until it answers; return its URL."""
        self.hub_api("POST", f"users/{user}/server", ok=(201, 202, 400))  # 400: already running
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.hub_api("GET", f"users/{user}").json()
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return self.url.rstrip("/") + server["url"]
            time.sleep(0.5)
        raise RuntimeError(f"{user}'s server did not start in {timeout:.0f} s\n{self.log_tail()}")

    def login(self, user: str, password: str = "any") -> requests.Session:
        """A browser-like session logged in through the hub's login form."""
        session = requests.Session()
        page = session.get(self.url + "hub/login", timeout=30)
        page.raise_for_status()
        xsrf = session.cookies.get("_xsrf", "")
        r = session.post(self.url + "hub/login", data={"username": user, "password": password, "_xsrf": xsrf},
                         timeout=60, allow_redirects=False)
        if r.status_code != 302:
            raise RuntimeError(f"logging in as {user}: {r.status_code} {r.text[:300]}")
        return session


# ---- the machine ----------------------------------------------------------------------------------
def ensure_system_user(name: str) -> None:
    """A system account with a home folder for a hub user (the local process spawner runs as it)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", name], check=True)


def check_interpreter_reachable(user: str) -> None:
    """Users' servers run this venv's Python as their own accounts: they must be able to."""
    r = subprocess.run(["runuser", "-u", user, "--", sys.executable, "-c", "import scopehub"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(
            f"hub-demo: user {user!r} cannot run {sys.executable} ({r.stderr.strip() or r.returncode}).\n"
            "The venv's interpreter and the project must be readable by every user: build the venv from a "
            "system Python (`make clean setup` uses /usr/bin/python3.11) in a folder others may enter.")


def _repo_node_bin() -> Path:
    return Path(__file__).resolve().parent.parent / "node_modules" / ".bin"


def _children(pid: int) -> list[dict]:
    import psutil

    try:
        return [{"pid": p.pid, "cmdline": p.cmdline()} for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


# ---- the command ----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scopehub.hub_extension.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8000, help="where the hub listens (default 8000)")
    parser.add_argument("--workdir", default="hub-demo", help="working folder (default ./hub-demo)")
    parser.add_argument("--spawner", choices=("local", "simple"), default="local" if os.geteuid() == 0 else "simple")
    parser.add_argument("--no-samples", action="store_true", help="do not import the sample images")
    args = parser.parse_args(argv)

    demo = HubDemo(Path(args.workdir), port=args.port, spawner=args.spawner)
    stop = False

    def on_signal(sig: int, frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    try:
        demo.prepare()
        print(f"hub-demo: starting JupyterHub in {demo.workdir} (log: {demo.log_path})", flush=True)
        demo.start()
        from .demo_data import populate

        populate(demo, samples=not args.no_samples)
        print(f"\nhub-demo: JupyterHub with scopehub is running at {demo.url}\n"
              f"  log in as alice (hub admin), bob or carol, with any password\n"
              f"  scopehub's admin pages: {demo.url}services/scopehub/ (as alice)\n"
              "  Ctrl-C stops everything.", flush=True)
        while not stop and demo.proc is not None and demo.proc.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("hub-demo: stopping", flush=True)
        demo.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
