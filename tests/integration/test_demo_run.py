"""The README's demo, `tools/run.sh --devcloud`, started as a reader would (issue 10 item 12).

It reuses the running devcloud. An extra `--config-file` (which run.sh must hand to the
service, not to pip) moves Multisite off port 8118 and onto a database of its own, so the
test disturbs nobody; the process group is killed at the end.
"""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.functional.api.servers import free_port
from tests.functional.test_startup import offline_env, wait_up

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _get(url, token=None):
    req = urllib.request.Request(url, headers={"X-Auth-Token": token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _stop_group(proc, timeout=30):
    """SIGTERM to run.sh's process group (run.sh execs the service), SIGKILL if it hangs."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def test_run_sh_devcloud_starts_multisite_with_keystone_auth(devcloud, tmp_path):
    if not (REPO / ".venv" / "bin" / "multisite-all-in-one").exists():
        pytest.fail("tools/run.sh uses the checkout's .venv: run `. tools/venv.sh test` first")
    # the reader's shell: no venv activated, no OS_*; the package index unreachable (the
    # venv is installed, so a start must not need it); the devcloud the fixture found
    env = offline_env(tmp_path, MULTISITE_DEVCLOUD_BASE=str(devcloud.base))
    env.pop("VIRTUAL_ENV", None)
    env["PATH"] = ":".join(p for p in env.get("PATH", "").split(":")
                           if not p.startswith(str(REPO / ".venv")))
    # run.sh brings a devcloud up when `status` fails: never from a test
    status = subprocess.run([str(REPO / ".venv" / "bin" / "multisite-devcloud"), "status"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stdout + status.stderr
    port = free_port()
    pool = f"multisite-demo-test-{uuid.uuid4().hex[:8]}"
    state = tmp_path / "state"
    extra = tmp_path / "extra.conf"
    extra.write_text(
        f"[DEFAULT]\nbind_port = {port}\nstate_path = {state}\n"
        f"[database]\nconnection = sqlite:///{state}/multisite.sqlite\n"
        f"[coordination]\nbackend_url = file://{state}/locks\n"
        "[scheduler]\nperiodic_enable = false\n"
        # the demo listens to the regions' notifications: on queues of its own, deleted
        # below, so that it takes none from another Multisite on this devcloud
        f"[notifications]\npool = {pool}\n")
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(REPO / "tools" / "run.sh"), "--devcloud", "--config-file", str(extra)],
            cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_up(proc, port, log, timeout=120)
        project = devcloud.session().get_project_id()
        url = f"http://127.0.0.1:{port}/v1.0/{project}/os-quota-sets/defaults"
        status_code, body = _get(url)
        assert status_code == 401, body  # Keystone auth, not the embedded noauth
        status_code, body = _get(url, devcloud.token())
        assert status_code == 200, body
        assert body["quota_set"]["cores"] > 0
    finally:
        code = _stop_group(proc)
        for vhost in devcloud.vhosts:
            subprocess.run(["rabbitmqctl", "delete_queue", "-p", vhost, pool],
                           capture_output=True, timeout=60, check=False)
    text = log.read_text()
    assert "InvalidRequirement" not in text
    assert "Multisite on http://127.0.0.1:" in text  # the demo's own greeting ran
    assert code in (0, -signal.SIGTERM), text[-3000:]
