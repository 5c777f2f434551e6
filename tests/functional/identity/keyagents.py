"""Start real multisite-keyagent processes with a test CA, for tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from multisite.clients.keyagent import KeyAgentClient
from multisite.devcloud.pki import TestCA


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Agent:
    """A key agent process managing ``base/<name>/fernet-keys`` and credential-keys."""

    def __init__(self, ca: TestCA, base: Path, name: str, port: int | None = None):
        self.ca, self.name = ca, name
        self.dir = base / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fernet = self.dir / "fernet-keys"
        self.credential = self.dir / "credential-keys"
        self.log = self.dir / "keyagent.log"
        self.port = port or free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        cert, key = ca.issue(f"agent-{name}", server=True)
        self.conf = self.dir / "keyagent.conf"
        self.conf.write_text(
            "[DEFAULT]\n"
            f"log_file = {self.log}\n"
            "[keyagent]\n"
            f"bind_host = 127.0.0.1\nbind_port = {self.port}\n"
            f"cert_file = {cert}\nkey_file = {key}\nca_file = {ca.cert_file}\n"
            f"fernet_repository = {self.fernet}\ncredential_repository = {self.credential}\n")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> Agent:
        exe = Path(sys.executable).with_name("multisite-keyagent")
        self.proc = subprocess.Popen([str(exe), "--config-file", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"key agent exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("key agent did not listen in time")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            self.proc.wait(10)
        self.proc = None


def client_files(ca: TestCA, name: str = "multisite") -> dict:
    cert, key = ca.issue(name, client=True)
    return {"cert_file": str(cert), "key_file": str(key), "ca_file": str(ca.cert_file)}


def client(agent: Agent, files: dict, timeout: float = 5.0) -> KeyAgentClient:
    return KeyAgentClient(agent.url, timeout=timeout, node=agent.name, **files)


def log_text(agent: Agent) -> str:
    return agent.log.read_text() if os.path.exists(agent.log) else ""
