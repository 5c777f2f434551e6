"""Real Keystone processes sharing one database, each with its own key repository and key
agent (what `multisite-devcloud up --keystones 2` provides), for the identity tests and bench.

Keystone comes from the devcloud's venv; ports 30500+ (Keystones) and 30600+ (agents) stay
clear of the devcloud's and of the ephemeral range.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import requests

from multisite.devcloud import services
from multisite.devcloud.pki import TestCA
from tests.functional.identity import keyagents

KEYSTONE_PORT = 30500
AGENT_PORT = 30600
ADMIN = {"username": "admin", "password": "adminpw", "project_name": "admin",
         "domain_name": "Default"}


def _km(venv: Path, conf: Path, *args):
    subprocess.run([str(venv / "bin" / "keystone-manage"), "--config-file", str(conf), *args],
                   check=True, capture_output=True, env=services._child_env())


class Keystone:
    def __init__(self, pair: KeystonePair, index: int):
        self.pair, self.index = pair, index
        self.name = f"ks{index + 1}"
        self.region = f"Region{('One', 'Two', 'Three', 'Four')[index]}"
        self.dir = pair.base / self.name
        self.port = KEYSTONE_PORT + pair.offset + index
        self.url = f"http://127.0.0.1:{self.port}/v3"
        self.fernet = self.dir / "fernet-keys"
        self.access_log = self.dir / "access.log"
        self.log = self.dir / "keystone.log"
        self.conf = self.dir / "keystone.conf"
        self.proc = None

    def write_config(self, max_active_keys: int):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            f"[DEFAULT]\nlog_file = {self.log}\n"
            f"[database]\nconnection = sqlite:///{self.pair.db}\n"
            "[token]\nprovider = fernet\n"
            f"[fernet_tokens]\nkey_repository = {self.fernet}\n"
            f"max_active_keys = {max_active_keys}\n"
            f"[credential]\nkey_repository = {self.dir / 'credential-keys'}\n"
            # no token cache: every validation decrypts with the keys on disk now
            "[cache]\nenabled = false\n")

    def start(self, timeout: float = 60.0):
        env = services._child_env()
        env["OS_KEYSTONE_CONFIG_FILES"] = str(self.conf)
        self.proc = subprocess.Popen(
            [str(self.pair.venv / "bin" / "gunicorn"), "-w", "1", "--threads", "4",
             "--no-control-socket", "--graceful-timeout", "2", "-b", f"127.0.0.1:{self.port}",
             "--pythonpath", str(services.WSGI_DIR), "--chdir", str(self.dir),
             "--access-logfile", str(self.access_log), "keystone_app:application"],
            cwd=self.dir, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "gunicorn.err", "ab"), start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.dir}")
            try:
                requests.get(self.url, timeout=1)
                return self
            except requests.RequestException:
                time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer in time")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(15)
        self.proc = None

    def requests_seen(self, path="/v3/auth/tokens") -> int:
        if not self.access_log.exists():
            return 0
        return sum(1 for line in self.access_log.read_text().splitlines() if path in line)

    def token(self) -> str | None:
        from multisite.clients import identity

        return identity.issue_token(self.url, timeout=90, **ADMIN)  # bcrypt on a busy host

    def validates(self, token: str) -> int:
        from multisite.clients import identity

        return identity.validate_token(self.url, token, timeout=90)


class KeystonePair:
    """N Keystones on one SQLite database, each with its own keys and its own key agent."""

    def __init__(self, venv: Path, base: Path, *, count: int = 2, offset: int = 0,
                 max_active_keys: int = 7):
        self.venv, self.base, self.offset = venv, base, offset
        self.db = base / "keystone.db"
        self.ca = TestCA(base / "ca")
        self.client_files = keyagents.client_files(self.ca)
        self.keystones = [Keystone(self, i) for i in range(count)]
        self.agents = []
        self.max_active_keys = max_active_keys

    def setup(self):
        self.base.mkdir(parents=True, exist_ok=True)
        first = self.keystones[0]
        for ks in self.keystones:
            ks.write_config(self.max_active_keys)
        _km(self.venv, first.conf, "db_sync")
        user = {"--keystone-user": str(os.getuid()), "--keystone-group": str(os.getgid())}
        args = [x for kv in user.items() for x in kv]
        for ks in self.keystones:  # each its own keys: they cannot read each other's tokens
            _km(self.venv, ks.conf, "fernet_setup", *args)
            _km(self.venv, ks.conf, "credential_setup", *args)
        _km(self.venv, first.conf, "bootstrap", "--bootstrap-username", "admin",
            "--bootstrap-password", "adminpw", "--bootstrap-project-name", "admin",
            "--bootstrap-role-name", "admin", "--bootstrap-service-name", "keystone",
            "--bootstrap-region-id", "RegionOne", "--bootstrap-public-url", first.url + "/")
        for i, ks in enumerate(self.keystones):
            agent = keyagents.Agent(self.ca, self.base, f"agent-{ks.name}",
                                    port=AGENT_PORT + self.offset + i)
            agent.fernet, agent.credential = ks.fernet, ks.dir / "credential-keys"
            agent.conf.write_text(agent.conf.read_text()
                                  .replace(str(agent.dir / "fernet-keys"), str(ks.fernet))
                                  .replace(str(agent.dir / "credential-keys"),
                                           str(agent.credential)))
            self.agents.append(agent)
        return self

    def start(self):
        for ks in self.keystones:
            ks.start()
        for agent in self.agents:
            agent.start()
        for ks in self.keystones:  # a fresh worker's first password check and first policy
            ks.validates(ks.token())  # enforcement take seconds on a busy host
        return self

    def direct_validation_seconds(self, ks, token) -> float:
        """How long one validation takes at ``ks`` now, without any plugin in between."""
        started = time.monotonic()
        assert ks.validates(token) == 200
        return time.monotonic() - started

    def stop(self):
        for agent in self.agents:
            agent.stop()
        for ks in self.keystones:
            ks.stop()

    def node_options(self) -> list[str]:
        return [f"{ks.name}|{ks.region}|{ks.url}|{agent.url}"
                for ks, agent in zip(self.keystones, self.agents, strict=True)]

    def identity_conf(self, conf, **overrides):
        """Point a Multisite ConfigOpts at these nodes, agents and credentials."""
        values = {"node": self.node_options(), "agent_cert_file": self.client_files["cert_file"],
                  "agent_key_file": self.client_files["key_file"],
                  "agent_ca_file": self.client_files["ca_file"],
                  "verify_username": "admin", "verify_password": "adminpw",
                  "verify_project_name": "admin", "max_active_keys": self.max_active_keys,
                  "retry_delay": 0.5, "agent_timeout": 3.0, "scan_interval": 0.2, "lease": 6}
        values.update(overrides)
        for name, value in values.items():
            conf.set_override(name, value, group="identity")

    def matrix(self, tokens: dict[str, str] | None = None) -> dict[str, int]:
        """{"ksA->ksB": status} for a fresh token of each Keystone (or the given ones)."""
        tokens = tokens or {ks.name: ks.token() for ks in self.keystones}
        return {f"{a}->{b.name}": b.validates(t) for a, t in tokens.items()
                for b in self.keystones}

    def purge(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
