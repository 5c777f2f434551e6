"""The original python-kingbirdclient 0.2.1 (PyPI) against Multisite behind a real Keystone.

Every `kingbird` command of spec §8.3 runs as a subprocess from the cached compat venv
(tests/kingbirdclient_env.py), authenticates with a password against the devcloud Keystone,
finds Multisite in the catalog (service type `synchronization`) and talks to `multisite-api`
(auth_strategy = keystone) with `multisite-engine` behind it over RabbitMQ.
"""

import contextlib
import json
import os
import subprocess
import time

import pytest

from tests import kingbirdclient_env
from tests.integration import usage as usage_helpers

pytestmark = pytest.mark.integration

QUOTA_KEYS = 20


@pytest.fixture(scope="module")
def kingbird_bin():
    return kingbirdclient_env.ensure_venv()


@pytest.fixture(scope="module")
def keystone_multisite(devcloud):
    with kingbirdclient_env.serving() as server:
        yield server


@pytest.fixture
def kb(kingbird_bin, keystone_multisite, devcloud):
    """kb(*args, creds=admin, ok=True) -> CompletedProcess of `kingbird <args>`."""

    def run(*args, creds=None, ok=True):
        creds = creds or devcloud.admin
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_AUTH_URL=devcloud.auth_url, OS_USERNAME=creds.username,
                   OS_PASSWORD=creds.password, OS_PROJECT_NAME=creds.project_name,
                   OS_USER_DOMAIN_NAME=creds.user_domain_name,
                   OS_PROJECT_DOMAIN_NAME=creds.project_domain_name)
        proc = subprocess.run([str(kingbird_bin), *args], env=env, capture_output=True,
                              text=True, timeout=120)
        if ok and proc.returncode != 0:
            pytest.fail(f"kingbird {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}"
                        f"\n--- server log tail ---\n{keystone_multisite.logs()[-3000:]}")
        return proc

    return run


def table(text):
    """Rows of a cliff table as lists of cell strings (header first)."""
    rows = []
    for line in text.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def pairs(text):
    return {row[0]: row[1] for row in table(text)[1:]}


def test_help_and_bash_completion(kb):
    assert "quota defaults" in kb("--help").stdout
    words = kb("bash-completion").stdout
    assert "quota" in words and "sync" in words


def test_quota_commands(kb, devcloud, fresh_project):
    target = fresh_project.id
    admin_project = devcloud.session().get_project_id()

    out = kb("quota", "defaults").stdout
    assert table(out)[0] == ["Quota", "Limit"]
    assert len(table(out)) == QUOTA_KEYS + 1 and pairs(out)["ram"] == "51200"

    out = kb("quota", "update", target, "--cores", "11", "--security_groups", "7",
             "--metadata_items", "99").stdout
    assert pairs(out) == {"cores": "11", "security_groups": "7", "metadata_items": "99"}

    shown = pairs(kb("quota", "show", "--tenant", target).stdout)
    assert shown["cores"] == "11" and shown["ram"] == "51200" and len(shown) == QUOTA_KEYS
    own = pairs(kb("quota", "show").stdout)  # the caller's own project
    assert len(own) == QUOTA_KEYS
    # a tenant sees its own limits
    tenant = pairs(kb("quota", "show", creds=fresh_project.credentials).stdout)
    assert tenant["cores"] == "11"

    out = kb("quota", "detail", "--tenant", target).stdout
    assert table(out)[0] == ["Quota", "Usage", "Limit"]
    detail = {row[0]: (row[1], row[2]) for row in table(out)[1:]}
    assert detail["cores"] == ("0", "11") and len(detail) == QUOTA_KEYS
    tenant_detail = table(kb("quota", "detail", creds=fresh_project.credentials).stdout)
    assert len(tenant_detail) == QUOTA_KEYS + 1

    out = kb("quota", "sync", target).stdout
    assert f"Request to sync quota for tenant {target} has been triggered." in out

    out = kb("quota", "delete", target).stdout
    assert f"Request to delete quotas for tenant {target} has been accepted." in out
    assert pairs(kb("quota", "show", "--tenant", target).stdout)["cores"] == "20"

    # a member may not update, and the old client reports a failure
    denied = kb("quota", "update", target, "--cores", "5", creds=fresh_project.credentials,
                ok=False)
    assert denied.returncode != 0
    assert admin_project != target


def test_quota_class_commands(kb):
    try:
        out = kb("quota-class", "update", "default", "--cores", "33", "--port", "44").stdout
        values = pairs(out)
        assert values["cores"] == "33" and values["port"] == "44"
        assert values.get("class_name") == "default"
        shown = pairs(kb("quota-class", "show", "default").stdout)
        assert shown["cores"] == "33" and shown["class_name"] == "default"
        assert pairs(kb("quota", "defaults").stdout)["cores"] == "33"
    finally:
        out = kb("quota-class", "delete", "default", ok=False)
    assert "Request to delete default quota_class has been accepted." in out.stdout
    assert pairs(kb("quota", "defaults").stdout)["cores"] == "20"
    random_class = pairs(kb("quota-class", "show", "no-such-class").stdout)
    assert random_class["cores"] == "20"


@pytest.fixture
def keypairs(devcloud):
    """keypairs(n) -> names created in RegionOne for the admin user; all removed after."""
    made = []

    def make(count):
        conn = devcloud.admin_connection(devcloud.regions[0])
        names = [usage_helpers.unique("kbkp") for _ in range(count)]
        for name in names:
            usage_helpers.create_keypair(conn, name)
        made.extend(names)
        return names

    yield make
    for region in devcloud.regions:
        conn = devcloud.admin_connection(region)
        for name in made:
            with contextlib.suppress(Exception):
                conn.compute.delete_keypair(name, ignore_missing=True)


def _wait_job(kb, job_id, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        rows = table(kb("sync", "show", job_id).stdout)
        assert rows[0] == ["ID", "RESOURCE", "SOURCE_REGION", "TARGET_REGION", "RESOURCE_TYPE",
                           "STATUS", "CREATED_AT", "UPDATED_AT"]
        statuses = [row[5] for row in rows[1:]]
        if statuses and all(s in ("SUCCESS", "FAILURE") for s in statuses):
            return rows[1:]
        assert time.monotonic() < deadline, f"job {job_id} still running: {rows}"
        time.sleep(1)


def _job_id(out):
    rows = table(out)
    assert rows[0] == ["ID", "STATUS", "CREATED_AT"]
    assert rows[1][1] == "IN_PROGRESS"
    return rows[1][0]


def test_sync_commands(kb, devcloud, keypairs, tmp_path):
    source, targets = devcloud.regions[0], devcloud.regions[1:]
    single, from_json, from_yaml = keypairs(3)
    target_args = [arg for region in targets for arg in ("--target", region)]

    job = _job_id(kb("sync", "create", "--source", source, *target_args,
                     "--resource_type", "keypair", "--resources", single, "--force").stdout)
    rows = _wait_job(kb, job)
    assert sorted(row[3] for row in rows) == sorted(targets)
    assert {(row[1], row[2], row[4], row[5]) for row in rows} == {
        (single, source, "keypair", "SUCCESS")}

    template = {"Sync": [{"resource_type": "keypair", "resources": [from_json],
                          "source": source, "target": targets}]}
    (tmp_path / "sync.json").write_text(json.dumps(template))
    (tmp_path / "sync.yaml").write_text(
        "Sync:\n  - resource_type: keypair\n"
        f"    resources:\n      - {from_yaml}\n    source: {source}\n"
        "    target:\n" + "".join(f"      - {region}\n" for region in targets))
    json_job = _job_id(kb("sync", "template", str(tmp_path / "sync.json")).stdout)
    yaml_job = _job_id(kb("sync", "template", str(tmp_path / "sync.yaml")).stdout)
    for job_id, name in ((json_job, from_json), (yaml_job, from_yaml)):
        rows = _wait_job(kb, job_id)
        assert {(row[1], row[5]) for row in rows} == {(name, "SUCCESS")}

    for region in targets:
        conn = devcloud.admin_connection(region)
        for name in (single, from_json, from_yaml):
            assert conn.compute.find_keypair(name) is not None, (region, name)

    listed = table(kb("sync", "list").stdout)
    assert listed[0] == ["ID", "STATUS", "CREATED_AT", "UPDATED_AT"]
    by_id = {row[0]: row[1] for row in listed[1:]}
    assert {by_id[j] for j in (job, json_job, yaml_job)} == {"SUCCESS"}
    active = table(kb("sync", "list", "--active").stdout)
    assert not {job, json_job, yaml_job} & {row[0] for row in active[1:]}

    deleted = kb("sync", "delete", job, json_job)
    assert deleted.stdout.strip() == ""
    again = kb("sync", "delete", job, ok=False)
    assert again.returncode != 0
    remaining = {row[0] for row in table(kb("sync", "list").stdout)[1:]}
    assert yaml_job in remaining and job not in remaining
    kb("sync", "delete", yaml_job)
