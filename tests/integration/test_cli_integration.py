"""`multisite` and `openstack multisite` against Multisite behind the devcloud Keystone.

Runs the ``console devcloud`` blocks of docs/cli.md (see tests/functional/test_cli.py) and
checks the OSC plugin with password auth and the catalog's `synchronization` endpoint.
"""

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import kingbirdclient_env
from tests.functional import test_cli as doc_runner

pytestmark = pytest.mark.integration

BIN = Path(sys.executable).parent
DOC_KEYPAIR = "docs-demo-key"
DOC_FILES = ("/tmp/docs-demo-key.pem", "/tmp/docs-sync.yaml")


@pytest.fixture(scope="module")
def keystone_multisite(devcloud):
    with kingbirdclient_env.serving() as server:
        yield server


@pytest.fixture
def admin_env(devcloud, keystone_multisite):
    env = doc_runner.clean_env()
    env.update(OS_CLIENT_CONFIG_FILE=str(devcloud.clouds_yaml), OS_CLOUD="devcloud-admin",
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return env


def _delete_doc_keypair(devcloud):
    for region in devcloud.regions:
        with contextlib.suppress(Exception):
            devcloud.admin_connection(region).compute.delete_keypair(DOC_KEYPAIR,
                                                                     ignore_missing=True)


def test_docs_cli_md_devcloud(devcloud, admin_env):
    if devcloud.regions[:3] != ["RegionOne", "RegionTwo", "RegionThree"]:
        pytest.fail(f"docs/cli.md needs RegionOne..RegionThree, devcloud has {devcloud.regions}")
    _delete_doc_keypair(devcloud)
    try:
        ran = doc_runner.run_doc("devcloud", admin_env, cwd=devcloud.base.parent)
    finally:
        _delete_doc_keypair(devcloud)
        for written in DOC_FILES:       # the files the page's commands write, as a user's
            Path(written).unlink(missing_ok=True)
    assert ran >= 8


def _run(env, *argv):
    return subprocess.run(list(argv), env=env, capture_output=True, text=True, timeout=120)


def test_openstack_plugin_with_keystone(admin_env, fresh_project):
    proc = _run(admin_env, str(BIN / "openstack"), "multisite", "quota", "update",
                fresh_project.id, "--cores", "13", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [{"Quota": "cores", "Limit": 13}]
    proc = _run(admin_env, str(BIN / "openstack"), "multisite", "quota", "show",
                "--project", fresh_project.id, "-f", "value")
    assert "cores 13" in proc.stdout.splitlines()
    proc = _run(admin_env, str(BIN / "openstack"), "multisite", "sync", "list", "-f", "json")
    assert proc.returncode == 0 and isinstance(json.loads(proc.stdout), list)


def test_member_gets_the_servers_message(devcloud, admin_env, fresh_project):
    env = dict(admin_env)
    env.pop("OS_CLOUD")
    creds = fresh_project.credentials
    env.update(OS_AUTH_URL=devcloud.auth_url, OS_USERNAME=creds.username,
               OS_PASSWORD=creds.password, OS_PROJECT_NAME=creds.project_name,
               OS_USER_DOMAIN_NAME="Default", OS_PROJECT_DOMAIN_NAME="Default",
               OS_IDENTITY_API_VERSION="3")
    proc = _run(env, str(BIN / "multisite"), "quota", "update", fresh_project.id, "--cores", "3")
    assert proc.returncode == 1
    assert proc.stderr.startswith("ERROR: ") and "HTTP 403" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = _run(env, str(BIN / "multisite"), "quota", "show", "-f", "value")
    assert proc.returncode == 0 and "cores 20" in proc.stdout.splitlines()


def test_wrong_password_is_one_line(devcloud, admin_env):
    env = dict(admin_env)
    env.pop("OS_CLOUD")
    env.update(OS_AUTH_URL=devcloud.auth_url, OS_USERNAME="admin", OS_PASSWORD="wrong",
               OS_PROJECT_NAME="admin", OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default", OS_IDENTITY_API_VERSION="3")
    proc = _run(env, str(BIN / "multisite"), "quota", "show")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
