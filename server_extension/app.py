"""The jupyter_server extension: configuration, start-up (database, schema, store) and shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Enum, Float, Int, List, Type, Unicode, default, validate

from .api.routes import API_PREFIX, api_routes, url_patterns
from .caller_cache import CallerCache
from .catalogue import schema
from .database import Database, EmbeddedPostgres, create_engine, normalise_url, redact
from .defaults import default_data_dir, default_database_url, default_username
from .identity import Identity, StandaloneIdentity
from .imports.pyramid_sizes import measure_in_background
from .imports.service import ImportService
from .store import ManagedStore
from .writes.service import WriteService


@dataclass
class ScopehubContext:
    """What every handler reaches as ``self.scopehub``."""

    db: Database
    identity: Any
    store: ManagedStore
    routes: list[tuple[str, type]]
    max_attachment_size: int
    # Where the API lives under the server's base URL: ``scopehub/api/v1`` (``api/v1`` in the hub service).
    api_prefix: str = API_PREFIX
    embedded: EmbeddedPostgres | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    async def run_blocking(self, fn, *args):
        """Run blocking work that is not a database call (file copies) off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self.db.executor, fn, *args)


class ScopehubApp(ExtensionApp):
    """scopehub's catalogue server inside Jupyter: ``{base_url}scopehub/api/v1/``."""

    name = "scopehub"
    description = "An OMERO-style bioimage catalogue in JupyterLab."
    load_other_extensions = True

    mode = Enum(
        ["standalone", "hub-service", "hub-client"],
        config=True,
        help="""What this server is to the catalogue.

        ``standalone`` (the default): it holds the catalogue itself (database and store), and the
        Jupyter user is its admin. ``hub-service``: it is the JupyterHub service that holds the catalogue
        for everyone (``python -m scopehub.hub_extension`` sets this; hub users are callers).
        ``hub-client``: a hub user's own Jupyter server, which holds nothing and forwards
        ``{base_url}scopehub/api/v1/`` to the service with the server's hub token, so that front-ends and
        notebooks work alike in both modes. ``scopehub.hub_extension.configure`` sets it for user servers
        through the ``SCOPEHUB_MODE`` environment variable, the default of this option.""",
    )

    @default("mode")
    def _default_mode(self) -> str:
        return os.environ.get("SCOPEHUB_MODE") or "standalone"

    service_url = Unicode(
        config=True,
        help="""In ``hub-client`` mode: the hub service's root URL as user servers reach it, e.g.
        ``http://127.0.0.1:10101/services/scopehub/`` (requests go to its ``api/v1/``). Default: the
        ``SCOPEHUB_SERVICE_URL`` environment variable, which ``configure`` sets.""",
    )

    @default("service_url")
    def _default_service_url(self) -> str:
        return os.environ.get("SCOPEHUB_SERVICE_URL", "")

    identity_class = Type(
        default_value=StandaloneIdentity,
        klass=Identity,
        config=True,
        help="""Who a request is: the class that turns an authenticated request into a catalogue caller.
        ``StandaloneIdentity`` makes the Jupyter user the admin; the hub service uses
        ``scopehub.hub_extension.identity.HubIdentity`` (hub users, groups and scopes).""",
    )

    data_dir = Unicode(
        config=True,
        help="""Folder for scopehub's own state: the embedded PostgreSQL's data (``pgdata/``) and the
        managed store (``store/``), unless those are set elsewhere. Default: ``scopehub`` under the
        Jupyter data folder, or the ``SCOPEHUB_DATA_DIR`` environment variable.""",
    )

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return default_data_dir()

    database_url = Unicode(
        config=True,
        help="""SQLAlchemy URL of an external PostgreSQL, e.g.
        ``postgresql://scopehub:secret@db.example.org/scopehub``. Empty (the default) starts an
        embedded PostgreSQL in ``data_dir/pgdata`` and stops it with Jupyter. Default: the
        ``SCOPEHUB_DATABASE_URL`` environment variable.""",
    )

    @default("database_url")
    def _default_database_url(self) -> str:
        return default_database_url()

    store_dir = Unicode(
        config=True,
        help="Root of the managed store, where originals and attachments are kept unchanged. "
        "Default: ``data_dir/store``.",
    )

    @default("store_dir")
    def _default_store_dir(self) -> str:
        return os.path.join(self.data_dir, "store")

    upgrade_schema = Bool(
        True,
        config=True,
        help="Bring the database schema up to date at start (``scopehub db upgrade`` does the same by "
        "hand). Turn off where a DBA runs migrations; scopehub then refuses to load on an old schema (Jupyter "
        "itself keeps running without it unless ``ServerApp.reraise_server_extension_failures`` is set).",
    )

    database_threads = Int(
        8,
        config=True,
        help="Threads (and pooled connections) that run database work, so that the event loop never waits.",
    )

    @validate("database_threads")
    def _valid_threads(self, proposal):
        if not 1 <= proposal["value"] <= 128:
            raise ValueError("database_threads must be between 1 and 128")
        return proposal["value"]

    standalone_username = Unicode(
        config=True,
        help="The catalogue user (an admin) that the Jupyter user is in standalone mode. Default: the "
        "operating-system user running Jupyter.",
    )

    @default("standalone_username")
    def _default_standalone_username(self) -> str:
        return default_username()

    caller_cache_seconds = Float(
        5.0,
        config=True,
        help="""How long a caller's admin flag, groups and roles are reused for reads (GET) before they are
        read again, in seconds; 0 reads them for every request. Changes made through this server take
        effect at once; changes made elsewhere (the ``scopehub`` command line, another server on the same
        database) within this many seconds (at most 3600). Writes always read them afresh.""",
    )

    @validate("caller_cache_seconds")
    def _valid_caller_cache(self, proposal):
        if not 0 <= proposal["value"] <= 3600:
            raise ValueError("caller_cache_seconds must be between 0 and 3600")
        return proposal["value"]

    max_attachment_size = Int(
        100 * 1024 * 1024,
        config=True,
        help="Largest file attachment accepted, in bytes; larger ones get 413.",
    )

    import_roots = List(
        Unicode(),
        config=True,
        help="""Folders that imports by path (``POST B/imports`` with ``{"paths": [...]}``) may read from.
        A path must lie inside one of them: ``..``, absolute paths elsewhere and symbolic links that lead
        out are refused with 400. Relative paths are looked up in each root in turn. Uploads and the
        ``scopehub import`` command line are not limited by them. Default: the Jupyter server's
        ``root_dir`` (the folder JupyterLab shows); an empty list turns imports by path off.""",
    )

    @default("import_roots")
    def _default_import_roots(self) -> list[str]:
        return [self.serverapp.root_dir] if self.serverapp is not None else []

    import_workers = Int(
        2,
        config=True,
        help="""Worker processes that run imports beside the server (started on the first import, at a
        lower CPU priority, so that the server keeps answering tile requests during a large import).
        Each runs one import at a time; more imports wait in the queue.""",
    )

    @validate("import_workers")
    def _valid_workers(self, proposal):
        if not 1 <= proposal["value"] <= 64:
            raise ValueError("import_workers must be between 1 and 64")
        return proposal["value"]

    max_upload_size = Int(
        20 * 1024**3,
        config=True,
        help="""Largest upload accepted by ``POST B/imports``, in bytes (the whole request body); larger
        ones get 413. Uploads are streamed to the store's ``tmp/`` folder, never held in memory.""",
    )

    write_max_age = Float(
        24 * 3600.0,
        config=True,
        help="""Seconds an image being written from a client (``POST B/writes``) may go without receiving a
        chunk before it is aborted and its chunks are removed from the store's ``tmp/`` folder. Nothing of
        it reaches the catalogue; the client that comes back gets a clear error.""",
    )

    @validate("write_max_age")
    def _valid_write_age(self, proposal):
        if not proposal["value"] > 0:
            raise ValueError("write_max_age must be positive")
        return proposal["value"]

    max_write_size = Int(
        2**40,
        config=True,
        help="""Largest image a client may write (``POST B/writes``), in bytes of uncompressed pixels; larger
        ones get 413 before any chunk is sent. Its chunks wait, compressed, in the store's ``tmp/`` folder
        until the write is committed.""",
    )

    @property
    def api_prefix(self) -> str:
        return "api/v1" if self.mode == "hub-service" else API_PREFIX

    def get_default_logging_config(self) -> dict[str, Any]:
        """traitlets' configuration, with this app's logger at ``log_level`` instead of DEBUG.

        traitlets leaves the logger at DEBUG and filters at its handler, and jupyter_server logs every
        successful request of an extension's handlers at debug level: each tile request built a log
        record only for the handler to drop it. ``log_level`` (or ``logging_config``) still turns
        debug output on.
        """
        config = super().get_default_logging_config()
        logger = config.get("loggers", {}).get(self.__class__.__name__)
        if logger is not None:
            logger["level"] = logging.getLevelName(self.log_level)
        return config

    def initialize_settings(self) -> None:
        if self.mode == "hub-client":
            self._initialize_client()
            return
        embedded = None
        url = self.database_url
        if not url:
            embedded = EmbeddedPostgres(Path(self.data_dir) / "pgdata")
            url = embedded.start()
            if self.mode == "hub-service":
                embedded.require_private_socket()  # users' servers must not reach a trusting socket
        self.log.info("scopehub: catalogue database %s", redact(url))
        engine = create_engine(url, pool_size=self.database_threads)
        self._check_schema(engine)
        db = Database(engine, threads=self.database_threads)
        store = ManagedStore(Path(self.store_dir))
        if self.mode == "hub-service":
            # Users' servers may run on this machine under their own accounts: the store is the
            # service's alone (what a user may read, they read through the API).
            store.root.mkdir(parents=True, exist_ok=True)
            os.chmod(store.root, 0o700)
        db.after_commit.append(lambda session: [store.remove(p) for p in session.info.get("remove_after_commit", [])])
        callers = CallerCache(self.caller_cache_seconds)
        callers.watch(db.sessions)
        identity = self.identity_class.from_app(self, db, callers)
        self.context = ScopehubContext(db=db, identity=identity, store=store, routes=api_routes(),
                                       max_attachment_size=self.max_attachment_size, embedded=embedded,
                                       api_prefix=self.api_prefix)
        self.settings.update({"scopehub": self.context})
        imports = ImportService(db, store.root, normalise_url(url).render_as_string(hide_password=False),
                                self.import_roots, self.import_workers, self.max_upload_size, self.log)
        imports.recover()  # before any import runs: what a dead process left goes
        self.context.extras["imports"] = imports
        writes = WriteService(db, store.root, self.write_max_age, self.max_write_size,
                              interval=min(600.0, self.write_max_age / 4))
        writes.start()  # expired writes go now, then every interval
        self.context.extras["writes"] = writes
        # Images imported before pyramid sizes were recorded (revision 0004): measured once, off the start-up path.
        threading.Thread(target=measure_in_background, args=(db, store.root, self.log), daemon=True,
                         name="scopehub-pyramid-sizes").start()
        self.log.info("scopehub: %s", identity.describe())

    def _initialize_client(self) -> None:
        from .forward import ServiceForwarder

        if not self.service_url:
            raise RuntimeError("scopehub in hub-client mode needs ScopehubApp.service_url (SCOPEHUB_SERVICE_URL)")
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if not token:
            raise RuntimeError("scopehub in hub-client mode runs in a hub user's server, which has "
                               "JUPYTERHUB_API_TOKEN; it is not set")
        self.forwarder = ServiceForwarder(self.service_url, token, self.log)
        self.settings.update({"scopehub_forwarder": self.forwarder})
        self.log.info("scopehub: hub client, forwarding %s to %s", API_PREFIX, self.forwarder.api_url)

    def _check_schema(self, engine) -> None:
        status = schema.status(engine)
        if status.up_to_date:
            return
        if not self.upgrade_schema:
            raise RuntimeError(f"the catalogue schema is at {status.current}, not {status.head}: "
                               "run `scopehub db upgrade`")
        self.log.info("scopehub: upgrading the catalogue schema %s -> %s", status.current, status.head)
        schema.upgrade(engine)

    def initialize_handlers(self) -> None:
        if self.mode == "hub-client":
            from .forward import ForwardingHandler

            self.handlers.append((f"{API_PREFIX}(/.*)?", ForwardingHandler))
            return
        self.handlers.extend(url_patterns(api_routes(), self.api_prefix))

    async def stop_extension(self) -> None:
        forwarder = getattr(self, "forwarder", None)
        if forwarder is not None:
            await forwarder.close()
        context = getattr(self, "context", None)
        if context is None:
            return
        if "writes" in context.extras:
            await asyncio.to_thread(context.extras["writes"].stop)
        if "imports" in context.extras:
            await asyncio.to_thread(context.extras["imports"].shutdown)
        context.db.close()
        if context.embedded is not None:
            context.embedded.stop()
