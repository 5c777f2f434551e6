"""Fernet key rotation across real Keystones (shared database, own key repositories)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from multisite.engine import identity, manager
from multisite.keyagent import repository
from multisite.objects import identity_nodes, key_rotations
from tests.integration.keystones import KeystonePair
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pair(devcloud, tmp_path_factory):
    keystones = KeystonePair(devcloud.base / "venv", tmp_path_factory.mktemp("keystones"),
                             offset=0, max_active_keys=7).setup().start()
    yield keystones
    keystones.stop()


@pytest.fixture
def identity_conf(db, pair):
    pair.identity_conf(db)
    return db


@pytest.fixture
def engine(identity_conf):
    running = manager.Manager(identity_conf, engine_id="identity-test")
    for kind in identity.KINDS:
        running.add(kind)
    running.start()
    yield running
    running.stop()


def _rotate(conf, timeout=60):
    rotation = key_rotations.create(conf)
    return wait_for(lambda: _finished(conf, rotation["id"]), timeout=timeout,
                    what="rotation to finish")


def _finished(conf, rotation_id):
    rotation = key_rotations.get(conf, rotation_id)
    return rotation if rotation["status"] in ("done", "failed") else None


def _all_green(matrix):
    return all(status == 200 for status in matrix.values()) and matrix


def test_rotations_make_every_token_valid_everywhere(pair, identity_conf, engine):
    ks1, ks2 = pair.keystones
    before = ks1.token()
    # without Multisite: different keys, the other Keystone cannot read the token
    assert ks1.validates(before) == 200
    assert ks2.validates(before) == 401  # (the token is its own X-Auth-Token)
    assert ks1.validates(ks2.token()) == 401

    rotation = _rotate(identity_conf)
    assert rotation["status"] == "done", rotation
    assert rotation["verification"] == {"ks1->ks1": 200, "ks1->ks2": 200,
                                        "ks2->ks1": 200, "ks2->ks2": 200}
    assert _all_green(pair.matrix())
    assert ks2.validates(before) == 200  # the reference's old token: valid everywhere now
    hashes = {a.name: repository.digest(repository.read(str(a.fernet))) for a in pair.agents}
    assert set(hashes.values()) == {rotation["final_hash"]}

    for n in range(4):  # five rotations in a row
        rotation = _rotate(identity_conf)
        assert rotation["status"] == "done", (n, rotation)
        assert _all_green(pair.matrix()), n
        assert ks1.validates(before) == 200 and ks2.validates(before) == 200, n
    keys = repository.read(str(ks1.fernet))
    assert len(keys) == pair.max_active_keys
    nodes = identity_nodes.list_nodes(identity_conf)
    assert [n["name"] for n in nodes] == ["ks1", "ks2"]
    assert all(n["last_rotation_id"] == rotation["id"] for n in nodes)
    assert nodes[1]["last_verification"] == {"ks1->ks2": 200, "ks2->ks1": 200,
                                             "ks2->ks2": 200}
    # the key material is gone from the database once a rotation ended
    stored = key_rotations.get(identity_conf, rotation["id"], with_keys=True)
    assert stored["staged_keys"] == {} and stored["final_keys"] == {}


def test_agent_down_blocks_promotion_and_nothing_breaks(pair, identity_conf, engine):
    _rotate(identity_conf)  # start from a uniform deployment
    ks1, ks2 = pair.keystones
    old = {ks.name: ks.token() for ks in pair.keystones}
    base_hash = repository.digest(repository.read(str(ks1.fernet)))
    pair.agents[1].stop()
    try:
        rotation = key_rotations.create(identity_conf)
        waiting = wait_for(lambda: (lambda r: r if r["status"] == "waiting" else None)(
            key_rotations.get(identity_conf, rotation["id"])), timeout=30,
            what="rotation waiting")
        assert waiting["phase"] == "distribute"
        assert "ks2" in waiting["error"]
        assert waiting["nodes"]["ks1"]["state"] == "staged"
        assert waiting["nodes"]["ks2"]["state"] == "unreachable"
        time.sleep(2)  # several retries later: still nothing promoted
        ks1_hash = repository.digest(repository.read(str(ks1.fernet)))
        assert ks1_hash == waiting["staged_hash"] != base_hash
        assert repository.digest(repository.read(str(ks2.fernet))) == base_hash
        assert _all_green(pair.matrix())          # fresh tokens everywhere
        assert _all_green(pair.matrix(old))       # and the ones from before
    finally:
        pair.agents[1].start()
    done = wait_for(lambda: _finished(identity_conf, rotation["id"]), timeout=30,
                    what="rotation to finish")
    assert done["status"] == "done"
    assert _all_green(pair.matrix()) and _all_green(pair.matrix(old))


def _engine_process(conf_file, log):
    return subprocess.Popen([sys.executable, "-m", "tests.integration.identity_engine",
                             "--config-file", str(conf_file)], stdout=log, stderr=log,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


def test_kill_9_between_distribute_and_promote_resumes_exactly_once(pair, identity_conf,
                                                                     tmp_path):
    conf = identity_conf
    conf_file = tmp_path / "multisite.conf"
    opts = "\n".join(f"node = {n}" for n in pair.node_options())
    conf_file.write_text(
        f"[DEFAULT]\ntransport_url = fake://\n"
        f"[database]\nconnection = {conf.database.connection}\n"
        f"[coordination]\nbackend_url = {conf.coordination.backend_url}\n"
        f"[identity]\n{opts}\nagent_cert_file = {pair.client_files['cert_file']}\n"
        f"agent_key_file = {pair.client_files['key_file']}\n"
        f"agent_ca_file = {pair.client_files['ca_file']}\n"
        "verify_username = admin\nverify_password = adminpw\nverify_project_name = admin\n"
        f"max_active_keys = {pair.max_active_keys}\nretry_delay = 0.5\nlease = 6\n"
        "scan_interval = 0.2\nagent_timeout = 3\n")
    log = open(tmp_path / "engine.log", "ab")
    first = _engine_process(conf_file, log)
    pair.agents[1].stop()
    try:
        rotation = key_rotations.create(conf)
        try:
            wait_for(lambda: key_rotations.get(conf, rotation["id"])["status"] == "waiting",
                     timeout=90, what="rotation waiting for ks2")
        except AssertionError:
            tail = (tmp_path / "engine.log").read_text()[-3000:]
            raise AssertionError(f"{key_rotations.get(conf, rotation['id'])}\n{tail}") from None
        staged = key_rotations.get(conf, rotation["id"])
        assert staged["phase"] == "distribute"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        pair.agents[1].start()
    second = _engine_process(conf_file, log)
    try:
        done = wait_for(lambda: _finished(conf, rotation["id"]), timeout=60,
                        what="rotation resumed by the second engine")
    finally:
        second.terminate()
        second.wait(10)
    assert done["status"] == "done"
    assert done["staged_hash"] == staged["staged_hash"]   # the same keys, not a second draw
    assert done["final_hash"] == staged["final_hash"]
    for agent in pair.agents:
        assert repository.digest(repository.read(str(agent.fernet))) == done["final_hash"]
    assert [r["status"] for r in key_rotations.list_rotations(conf)] == ["done"]
    assert _all_green(pair.matrix())


def test_cli_rotate_wait_against_the_all_in_one(pair, tmp_path):
    """`multisite identity rotate --wait` through the API and the engine of an all-in-one."""
    from tests.functional.test_cli import BIN, clean_env, free_port

    port = free_port()
    nodes = "\n".join(f"node = {n}" for n in pair.node_options())
    conf = tmp_path / "multisite.conf"
    conf.write_text(
        f"[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
        "[scheduler]\nperiodic_enable = false\n"
        f"[identity]\n{nodes}\nagent_cert_file = {pair.client_files['cert_file']}\n"
        f"agent_key_file = {pair.client_files['key_file']}\n"
        f"agent_ca_file = {pair.client_files['ca_file']}\n"
        "verify_username = admin\nverify_password = adminpw\nverify_project_name = admin\n"
        f"max_active_keys = {pair.max_active_keys}\nretry_delay = 1\nscan_interval = 0.5\n")
    env = clean_env() | {"MULTISITE_STATE_DIR": str(tmp_path / "state")}
    log = open(tmp_path / "all-in-one.log", "wb")
    proc = subprocess.Popen([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)],
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    cli_env = clean_env() | {"OS_MULTISITE_URL": f"http://127.0.0.1:{port}",
                             "OS_PROJECT_ID": "0123456789abcdef0123456789abcdef",
                             "OS_MULTISITE_ROLES": "admin"}
    try:
        wait_for(lambda: subprocess.run([str(BIN / "multisite"), "identity", "node", "list",
                                         "-f", "value", "-c", "NAME"], env=cli_env,
                                        capture_output=True, text=True).stdout.split()
                 == ["ks1", "ks2"], timeout=90, what="the all-in-one")
        done = subprocess.run([str(BIN / "multisite"), "identity", "rotate", "--wait",
                               "--timeout", "300", "-f", "json"], env=cli_env,
                              capture_output=True, text=True, timeout=400)
        assert done.returncode == 0, (done.stderr
                                      + (tmp_path / "all-in-one.log").read_text()[-3000:])
        result = json.loads(done.stdout)
        assert result["status"] == "done" and "done phase=done" in done.stderr
        assert {k: v for k, v in result.items() if k.startswith("verification")} == {
            "verification ks1->ks1": 200, "verification ks1->ks2": 200,
            "verification ks2->ks1": 200, "verification ks2->ks2": 200}
        assert _all_green(pair.matrix())
        shown = subprocess.run([str(BIN / "multisite"), "identity", "node", "show", "ks2",
                                "-f", "json"], env=cli_env, capture_output=True, text=True)
        node = json.loads(shown.stdout)
        assert node["last_rotation"] == result["id"]
        assert node["fernet_hash"] == result["final_hash"]
    finally:
        proc.terminate()
        proc.wait(30)
