"""``install``: a cached virtualenv with the pinned OpenStack services."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

CONSTRAINTS = Path(__file__).with_name("constraints.txt")

PACKAGES = [
    "keystone==30.0.0",
    "nova==34.0.0",
    "cinder==29.0.0",
    "neutron==29.0.0",
    "glance==33.0.0",
    # the full profile's placement API (nova-scheduler and nova-compute need it)
    "openstack-placement==16.0.0",
    "gunicorn",
    # neutron 29.0.0 does not declare it, but every neutron command imports it
    "pyroute2",
    "PyMySQL",
    "python-openstackclient",
]

STAMP_NAME = ".multisite-devcloud-install"


def install_hash() -> str:
    h = hashlib.sha256()
    h.update(CONSTRAINTS.read_bytes())
    h.update("\n".join(PACKAGES).encode())
    h.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return h.hexdigest()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def is_installed(venv: Path) -> bool:
    stamp = venv / STAMP_NAME
    return (
        stamp.is_file()
        and venv_python(venv).exists()
        and stamp.read_text().strip() == install_hash()
    )


def install(venv: Path, force: bool = False, quiet: bool = False) -> float:
    """Create/refresh ``venv``; return the seconds spent (0.0 when it was a no-op)."""
    if not force and is_installed(venv):
        print(f"devcloud venv {venv} is up to date (nothing to do)")
        return 0.0
    t0 = time.monotonic()
    venv.parent.mkdir(parents=True, exist_ok=True)
    if not venv_python(venv).exists():
        print(f"creating virtualenv {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv_python(venv))
    pip = [py, "-m", "pip", "--disable-pip-version-check"]
    if quiet:
        pip.append("-q")
    subprocess.run([*pip, "install", "-U", "pip"], check=True)
    print("installing " + " ".join(PACKAGES) + f" (constraints {CONSTRAINTS})", flush=True)
    subprocess.run([*pip, "install", "-c", str(CONSTRAINTS), *PACKAGES], check=True)
    (venv / STAMP_NAME).write_text(install_hash() + "\n")
    took = time.monotonic() - t0
    print(f"devcloud venv ready in {took:.0f} s: {venv}")
    return took
