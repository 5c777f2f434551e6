"""The python-kingbirdclient 0.2.1 venv, and a Multisite API+engine behind the devcloud Keystone.

``ensure_venv()`` builds ``.venv-kingbirdclient/`` once (cached; a marker file records the
recipe) with the original client from PyPI and the two fixes of spec §8.1:

* ``Babel``: kingbirdclient imports it but does not declare it;
* PyYAML 5.4.1 (``yaml.load`` without a Loader): it has no wheel for this Python and its
  sdist does not build with Cython 3, so ``pip install "Cython<3" wheel "setuptools<70"``
  then ``pip install --no-build-isolation PyYAML==5.4.1``.

This works on this machine's Python 3.11 (the only interpreter here); ``KINGBIRDCLIENT_PYTHON``
selects another one.

``KeystoneMultisite`` runs ``multisite-api`` and ``multisite-engine`` as the catalog of the
devcloud says (``synchronization`` at http://127.0.0.1:8118/v1.0): ``auth_strategy = keystone``,
``[keystone_authtoken]`` on the devcloud Keystone, RabbitMQ between the two processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from multisite.devcloud import layout as devcloud_layout
from multisite.devcloud import multisite_conf

REPO = Path(__file__).resolve().parents[1]
VENV = Path(os.environ.get("KINGBIRDCLIENT_VENV", REPO / ".venv-kingbirdclient"))
RECIPE = [
    ["python-kingbirdclient==0.2.1", "Babel"],
    ["Cython<3", "wheel", "setuptools<70"],
    ["--no-build-isolation", "PyYAML==5.4.1"],
]
MARKER = VENV / ".multisite-recipe"
KEYSTONE_URL = devcloud_layout.KEYSTONE_URL
PORT = 8118
TRANSPORT_URL = "rabbit://guest:guest@127.0.0.1:5672/"


@contextlib.contextmanager
def _file_lock(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv() -> Path:
    """The `kingbird` executable of the cached compat venv; builds it if needed."""
    recipe = repr(RECIPE)
    with _file_lock(Path(str(VENV) + ".lock")):
        if MARKER.exists() and MARKER.read_text() == recipe:
            return VENV / "bin" / "kingbird"
        shutil.rmtree(VENV, ignore_errors=True)
        python = os.environ.get("KINGBIRDCLIENT_PYTHON", sys.executable)
        log = []
        steps = [[python, "-m", "venv", str(VENV)]]
        steps += [[str(VENV / "bin" / "pip"), "install", "-q", *args] for args in RECIPE]
        for step in steps:
            proc = subprocess.run(step, capture_output=True, text=True, timeout=900)
            log.append(f"$ {' '.join(step)}\n{proc.stdout}{proc.stderr}")
            if proc.returncode != 0:
                raise RuntimeError("building the kingbirdclient venv failed:\n" + log[-1][-4000:])
        MARKER.write_text(recipe)
        return VENV / "bin" / "kingbird"


def port_open(port, host="127.0.0.1"):
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _config(state: Path, *, transport_url: str) -> str:
    return multisite_conf.render(state, transport_url=transport_url, port=PORT,
                                 periodic_enable=False)


class KeystoneMultisite:
    """multisite-api + multisite-engine on port 8118 with Keystone auth (a context manager).

    Holds an exclusive lock on the port for its lifetime, so test modules and xdist
    workers take turns; refuses to start when something else already answers on 8118.
    """

    def __init__(self, *, transport_url=TRANSPORT_URL):
        self.transport_url = transport_url
        self.state = Path(tempfile.mkdtemp(prefix="multisite-ks-"))
        self.procs = []
        self._lock = None
        self.url = f"http://127.0.0.1:{PORT}/v1.0"

    def _bin(self, name):
        return str(Path(sys.executable).parent / name)

    def __enter__(self):
        lock_path = Path(tempfile.gettempdir()) / f"multisite-port-{PORT}.lock"
        self._lock = open(lock_path, "w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        try:
            if port_open(PORT):
                raise RuntimeError(f"port {PORT} is already in use by another process")
            conf = self.state / "multisite.conf"
            conf.write_text(_config(self.state, transport_url=self.transport_url))
            args = ["--config-file", str(conf)]
            subprocess.run([self._bin("multisite-manage"), *args, "db_sync"], check=True,
                           capture_output=True, timeout=120)
            for name in ("multisite-engine", "multisite-api"):
                log = open(self.state / f"{name}.log", "wb")
                self.procs.append(subprocess.Popen([self._bin(name), *args], stdout=log,
                                                   stderr=subprocess.STDOUT,
                                                   start_new_session=True))
            self._wait_ready()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited {proc.returncode}:\n"
                                       + self.logs()[-3000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/", timeout=2):
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("multisite-api did not answer on port 8118:\n" + self.logs()[-3000:])

    def logs(self):
        return "".join(path.read_text(errors="replace")
                       for path in sorted(self.state.glob("*.log")))

    def __exit__(self, *exc):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs = []
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
        if exc[0] is None:      # kept after a failure: its logs and database tell why
            shutil.rmtree(self.state, ignore_errors=True)
        return False


@contextlib.contextmanager
def serving():
    """KeystoneMultisite for a test module; RabbitMQ must be up (skip locally, fail in CI)."""
    from tests.conftest import require_service

    require_service("RabbitMQ", port_open(5672), "127.0.0.1:5672")
    with KeystoneMultisite() as server:
        yield server
