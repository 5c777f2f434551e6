"""Where everything lives: state directory, ports, region names, credentials."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
KEYSTONE_PORT = 5000
KEYSTONE_URL = f"http://{HOST}:{KEYSTONE_PORT}/v3"
MULTISITE_URL = f"http://{HOST}:8118/v1.0"

ADMIN_USER = "admin"
ADMIN_PASSWORD = "adminpw"
ADMIN_PROJECT = "admin"
DEMO_USER = "demo"
DEMO_PASSWORD = "demopw"
DEMO_PROJECT = "demo"
DOMAIN = "Default"

MYSQL_URL = "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8"
MYSQL_PREFIX = "devcloud_"

# the machine's RabbitMQ: one vhost per region (and per devcloud) for notifications and RPC
RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"
PORT_OFFSET_ENV = "MULTISITE_DEVCLOUD_PORT_OFFSET"

REGION_NAMES = ["RegionOne", "RegionTwo", "RegionThree", "RegionFour", "RegionFive", "RegionSix"]
MAX_REGIONS = len(REGION_NAMES)  # region 7 would need ports above 65535

# default ports of region 1; region N adds (N-1)*10000
BASE_PORTS = {"nova": 8774, "cinder": 8776, "neutron": 9696, "glance": 9292, "placement": 8778}
REGION_SERVICES = ["nova", "cinder", "neutron", "glance"]
PROFILES = ("api", "full")


def region_name(index: int) -> str:
    return REGION_NAMES[index - 1]


def region_index(name: str) -> int:
    return REGION_NAMES.index(name) + 1


def port(service: str, index: int, offset: int = 0) -> int:
    """Region ``index``'s port; keystone N (``--keystones``) is 5000 + (N-1)*10000."""
    if service == "keystone":
        return KEYSTONE_PORT + (max(index, 1) - 1) * 10000 + offset
    return BASE_PORTS[service] + (index - 1) * 10000 + offset


def keystone_url(offset: int = 0, index: int = 1) -> str:
    return f"http://{HOST}:{port('keystone', index, offset)}/v3"


def env_port_offset() -> int:
    raw = os.environ.get(PORT_OFFSET_ENV, "").strip() or "0"
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{PORT_OFFSET_ENV}={raw!r} is not a number") from None


def repo_root() -> Path:
    """The checkout this package lives in (``<repo>/multisite/devcloud/layout.py``)."""
    return Path(__file__).resolve().parents[2]


def default_base() -> Path:
    env = os.environ.get("MULTISITE_DEVCLOUD_BASE")
    if env:
        return Path(env).expanduser().resolve()
    return repo_root() / ".devcloud"


@dataclass
class Layout:
    """A devcloud's state directory; its port offset comes from ``state.json`` once started.

    ``port_offset`` shifts every port (Keystone included) so that two devclouds can run on one
    machine; it also names their MariaDB databases and RabbitMQ vhosts apart.
    """

    base: Path
    port_offset: int | None = None

    def __post_init__(self) -> None:
        self.base = Path(self.base).expanduser().resolve()
        if self.port_offset is None:
            recorded = self.read_state().get("port_offset")
            self.port_offset = int(recorded) if recorded is not None else env_port_offset()

    def port(self, service: str, index: int) -> int:
        return port(service, index, self.port_offset)

    @property
    def keystone_url(self) -> str:
        return keystone_url(self.port_offset)

    @property
    def tag(self) -> str:
        """``devcloud`` for the default ports, ``devcloud<offset>`` for a shifted devcloud."""
        return "devcloud" if not self.port_offset else f"devcloud{self.port_offset}"

    @property
    def mysql_prefix(self) -> str:
        return self.tag + "_"

    def vhost(self, index: int) -> str:
        return f"{self.tag}-r{index}"

    def transport_url(self, index: int) -> str:
        return RABBIT_URL.format(vhost=self.vhost(index))

    @property
    def venv(self) -> Path:
        return self.base / "venv"

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)

    @property
    def run_dir(self) -> Path:
        return self.base / "run"

    @property
    def log_dir(self) -> Path:
        return self.base / "logs"

    @property
    def state_file(self) -> Path:
        return self.base / "state.json"

    @property
    def lock_file(self) -> Path:
        return self.base / ".lock"

    @property
    def clouds_yaml(self) -> Path:
        return self.base / "clouds.yaml"

    @property
    def openrc(self) -> Path:
        return self.base / "openrc"

    @property
    def openrc_demo(self) -> Path:
        return self.base / "openrc.demo"

    def service_dir(self, service: str, index: int) -> Path:
        if service == "keystone":
            return self.base / ("keystone" if index < 2 else f"keystone{index}")
        return self.base / f"r{index}" / service

    @property
    def backup_dir(self) -> Path:
        """cinder-backup's posix repository, shared by every region (cross-site restore)."""
        return self.base / "backups"

    def read_state(self) -> dict:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def write_state(self, state: dict) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.state_file)
