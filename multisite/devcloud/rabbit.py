"""RabbitMQ vhosts of the devcloud's regions on the machine's broker (through rabbitmqctl)."""

from __future__ import annotations

import json
import shutil
import subprocess

from multisite.devcloud import layout as L
from multisite.devcloud.services import DevcloudError

USER = "guest"
# notifications nobody consumes must not pile up forever in a long-lived devcloud
QUEUE_LIMIT_POLICY = {"max-length": 10000, "overflow": "drop-head"}


class RabbitError(DevcloudError):
    """rabbitmqctl is missing or failed (`up` reports it as an error line, not a traceback)."""


def rabbitmqctl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    exe = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise RabbitError("rabbitmqctl is not installed (apt-get install rabbitmq-server); the "
                          "devcloud needs the machine's RabbitMQ on 127.0.0.1:5672") from None
    if check and proc.returncode != 0:
        raise RabbitError(f"rabbitmqctl {' '.join(args)} failed (exit {proc.returncode}): "
                          f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc


def vhosts() -> set[str]:
    out = rabbitmqctl("list_vhosts", "--quiet", "--no-table-headers").stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def ensure_vhost(name: str) -> bool:
    """Create the vhost (guest may do everything in it); True if it was created."""
    created = name not in vhosts()
    if created:
        rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, USER, ".*", ".*", ".*")
    rabbitmqctl("set_policy", "-p", name, "--apply-to", "queues", "devcloud-notifications",
                r"^(notifications|versioned_notifications)\.", json.dumps(QUEUE_LIMIT_POLICY))
    return created


def delete_vhost(name: str, present: set[str] | None = None) -> bool:
    """Delete ``name`` if it exists (``present``: the broker's vhosts, if already listed)."""
    if name not in (vhosts() if present is None else present):
        return False
    rabbitmqctl("delete_vhost", name)
    return True


def region_vhosts(layout: L.Layout, regions: int) -> list[str]:
    return [layout.vhost(i) for i in range(1, regions + 1)]


def delete_devcloud_vhosts(layout: L.Layout) -> list[str]:
    """Delete this devcloud's vhosts (``<tag>-r<N>``), whatever the region count."""
    prefix = f"{layout.tag}-r"
    present = vhosts()
    mine = sorted(v for v in present if v.startswith(prefix) and v[len(prefix):].isdigit())
    return [v for v in mine if delete_vhost(v, present)]
