"""Issue 18 in the devcloud: a key agent beside each Keystone, and the failover auth plugin.

* ``up --keyagents`` starts one ``multisite-keyagent`` per Keystone (``keyagent`` beside the
  first, ``keyagent2`` beside RegionTwo's), serving that Keystone's own key repositories over
  mutual TLS, with certificates of a test CA made here (``$BASE/pki``, ``cryptography``).
* With ``--keystones 2`` RegionTwo's services validate tokens with ``auth_type =
  multisite_failover``: their local Keystone first, RegionOne's next.

Both run from the devcloud's venv (where Keystone and the services live), as Multisite is
deployed beside a Keystone or a service (``pip install --no-deps multisite``): the devcloud
puts ``$BASE/multisite-lib`` on their ``PYTHONPATH``, holding a link to this checkout's
``multisite`` package and its ``keystoneauth1.plugin`` entry point, so nothing is installed
into the (possibly shared) venv.
"""

from __future__ import annotations

import grp
import os
import pwd
import socket
import threading
import time
from pathlib import Path

from multisite.devcloud import layout as L
from multisite.devcloud.services import DevcloudError, Service, tail

# the key agent of Keystone N listens on Keystone's port + AGENT_PORT_DELTA (5000 -> 8119)
AGENT_PORT_DELTA = 3119
CLIENT_CERT = "multisite"  # the client certificate Multisite's engines present
PLUGIN = "multisite_failover"
# RegionTwo's services: connect timeout, read timeout, seconds a dead Keystone is skipped
FAILOVER_CONNECT_TIMEOUT = 1
FAILOVER_READ_TIMEOUT = 10
FAILOVER_RETRY_AFTER = 5

# `up` starts the agents in parallel threads: one CA, made once
_PKI_LOCK = threading.Lock()

ENTRY_POINTS = f"""[keystoneauth1.plugin]
{PLUGIN} = multisite.failover.plugin:FailoverLoader
"""


def lib_dir(layout: L.Layout) -> Path:
    return layout.base / "multisite-lib"


def ensure_lib(layout: L.Layout) -> Path:
    """``$BASE/multisite-lib``: ``multisite`` (a link to this checkout's package) and a
    dist-info that registers the auth plugin's entry point; what the services' Python finds."""
    lib = lib_dir(layout)
    lib.mkdir(parents=True, exist_ok=True)
    package = L.repo_root() / "multisite"
    link = lib / "multisite"
    if not link.is_symlink() or Path(os.readlink(link)) != package:
        tmp = lib / "multisite.tmp"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(package)
        tmp.replace(link)
    info = lib / "multisite-0.0.0.dist-info"
    info.mkdir(exist_ok=True)
    for name, text in (("METADATA", "Metadata-Version: 2.1\nName: multisite\nVersion: 0.0.0\n"),
                       ("entry_points.txt", ENTRY_POINTS)):
        path = info / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return lib


def pki_dir(layout: L.Layout) -> Path:
    return layout.base / "pki"


def client_files(layout: L.Layout) -> dict[str, str]:
    """The client certificate, key and CA Multisite uses to talk to the agents."""
    d = pki_dir(layout)
    return {"cert_file": str(d / f"{CLIENT_CERT}.pem"),
            "key_file": str(d / f"{CLIENT_CERT}-key.pem"), "ca_file": str(d / "ca.pem")}


def ensure_pki(layout: L.Layout) -> None:
    """The test CA and Multisite's client certificate (made once, kept by ``down``)."""
    from multisite.devcloud.pki import TestCA

    with _PKI_LOCK:
        ca = TestCA(pki_dir(layout), name="Multisite devcloud CA")
        if not Path(client_files(layout)["cert_file"]).exists():
            ca.issue(CLIENT_CERT, client=True)


class KeyAgent(Service):
    """``multisite-keyagent`` beside Keystone ``index`` (0: the first one, 2: RegionTwo's)."""

    @property
    def name(self) -> str:
        return "keyagent" if self.index < 2 else f"keyagent{self.index}"

    @property
    def region(self) -> str:
        return L.region_name(max(self.index, 1))

    @property
    def keystone_dir(self) -> Path:
        return self.layout.service_dir("keystone", self.index)

    @property
    def keystone_url(self) -> str:
        return L.keystone_url(self.layout.port_offset, max(self.index, 1))

    @property
    def port(self) -> int:
        return self.layout.port("keystone", self.index) + AGENT_PORT_DELTA

    @property
    def url(self) -> str:
        return f"https://{L.HOST}:{self.port}"

    @property
    def dir(self) -> Path:
        return self.layout.base / self.name

    @property
    def databases(self) -> list[str]:
        return []

    @property
    def conf_files(self) -> list[Path]:
        return [self.dir / "keyagent.conf"]

    def answers(self, timeout: float = 5.0) -> bool:
        """It listens (a TLS handshake without a client certificate is refused by design)."""
        try:
            socket.create_connection((L.HOST, self.port), timeout=timeout).close()
            return True
        except OSError:
            return False

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            return None
        return pid if str(self.conf_files[0]).encode() in cmdline else None

    def write_config(self) -> None:
        from multisite.devcloud.pki import TestCA

        ensure_pki(self.layout)
        self.dir.mkdir(parents=True, exist_ok=True)
        with _PKI_LOCK:
            ca = TestCA(pki_dir(self.layout))
            cert, key = ca.dir / f"{self.name}.pem", ca.dir / f"{self.name}-key.pem"
            if not cert.exists() or not key.exists():
                cert, key = ca.issue(self.name, server=True)
        # Keystone's re-encryption after a credential key rotation (one node is enough: the
        # database is shared; both are configured so that either can do it)
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        migrate = (f"{self.layout.bin('keystone-manage')} --config-file "
                   f"{self.keystone_dir / 'keystone.conf'} credential_migrate "
                   f"--keystone-user {user} --keystone-group {group}")
        self.conf_files[0].write_text(f"""[DEFAULT]
log_file = {self.log_file}

[keyagent]
bind_host = {L.HOST}
bind_port = {self.port}
cert_file = {cert}
key_file = {key}
ca_file = {ca.cert_file}
fernet_repository = {self.keystone_dir / 'fernet-keys'}
credential_repository = {self.keystone_dir / 'credential-keys'}
credential_migrate_command = {migrate}
""")

    def initialise(self) -> bool:
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        ensure_lib(self.layout)
        if not (self.keystone_dir / "fernet-keys" / "0").exists():
            raise DevcloudError(f"{self.name}: {self.keystone_dir / 'fernet-keys'} has no keys")
        return False

    def drop_data(self) -> None:
        import shutil

        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self) -> dict[str, str]:
        env = super().env()
        env["PYTHONPATH"] = str(lib_dir(self.layout))
        return env

    def command(self) -> list[str]:
        return [self.layout.bin("python"), "-m", "multisite.keyagent",
                "--config-file", str(self.conf_files[0])]

    def wait_ready(self, deadline: float) -> float:
        started = getattr(self, "_started", time.monotonic())
        proc = getattr(self, "_proc", None)
        while not self.answers(timeout=1):
            if proc is not None and proc.poll() is not None:
                raise DevcloudError(f"{self.name} exited; see {self.log_file}:\n"
                                    f"{tail(self.log_file)}")
            if time.monotonic() > deadline:
                raise DevcloudError(f"{self.name} did not listen on {self.port} in time; see "
                                    f"{self.log_file}:\n{tail(self.log_file)}")
            time.sleep(0.3)
        took = time.monotonic() - started
        self.timings["ready"] = took
        return took


def agents(layout: L.Layout, db: str, keystones: int) -> list[KeyAgent]:
    return [KeyAgent("keyagent", k, layout, db, keystones=keystones)
            for k in [0, *range(2, keystones + 1)]]


def node_options(layout: L.Layout, keystones: int) -> list[str]:
    """``[identity] node`` lines (NAME|REGION|KEYSTONE_URL|AGENT_URL) for the agents."""
    return [f"{'ks1' if a.index < 2 else f'ks{a.index}'}|{a.region}|{a.keystone_url}|{a.url}"
            for a in agents(layout, "mysql", keystones)]


def identity_section(layout: L.Layout, keystones: int) -> str:
    """The ``[identity]`` section of a Multisite config managing the devcloud's Keystones."""
    files = client_files(layout)
    lines = ["[identity]", *(f"node = {n}" for n in node_options(layout, keystones)),
             f"agent_cert_file = {files['cert_file']}", f"agent_key_file = {files['key_file']}",
             f"agent_ca_file = {files['ca_file']}",
             # = Keystone's [fernet_tokens] max_active_keys in the devcloud (its default)
             "max_active_keys = 3"]
    return "\n".join(lines) + "\n"


def uses_failover(svc: Service) -> bool:
    """RegionTwo's services with a second Keystone validate through the failover plugin."""
    return svc.kind not in ("keystone", "keyagent") and svc.keystones >= 2 and svc.index == 2


def authtoken_failover(svc: Service) -> str:
    from multisite.devcloud.keystone_setup import SERVICE_PASSWORDS

    user = svc.kind
    local = L.keystone_url(svc.layout.port_offset, 2)
    other = L.keystone_url(svc.layout.port_offset, 1)
    return f"""
[keystone_authtoken]
www_authenticate_uri = {local}
auth_type = {PLUGIN}
auth_url = {local}
failover_urls = {other}
failover_connect_timeout = {FAILOVER_CONNECT_TIMEOUT}
failover_read_timeout = {FAILOVER_READ_TIMEOUT}
failover_retry_after = {FAILOVER_RETRY_AFTER}
username = {user}
password = {SERVICE_PASSWORDS[user]}
project_name = service
user_domain_name = {L.DOMAIN}
project_domain_name = {L.DOMAIN}
region_name = {svc.region}
"""
