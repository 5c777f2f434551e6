"""multisite-keyagent as a process: mutual TLS, atomic writes, refusals, no key bytes in logs."""

import os
import ssl
import stat

import pytest
import requests

from multisite.clients import errors
from multisite.devcloud.pki import TestCA
from multisite.keyagent import repository as repo
from tests.functional.identity import keyagents


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def agent(ca, tmp_path):
    running = keyagents.Agent(ca, tmp_path, "node1").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def files(ca):
    return keyagents.client_files(ca)


def test_put_get_hash_and_modes(agent, files):
    c = keyagents.client(agent, files)
    keys = {0: repo.new_key(), 1: repo.new_key()}
    answer = c.put("fernet", keys)
    assert answer["changed"] is True and answer["hash"] == repo.digest(keys)
    assert c.put("fernet", keys)["changed"] is False
    assert c.state("fernet") == {"name": "fernet", "hash": repo.digest(keys), "indexes": [0, 1]}
    assert "keys" not in c.state("fernet")
    assert c.keys("fernet") == keys
    assert repo.read(str(agent.fernet)) == keys
    for name in os.listdir(agent.fernet):
        assert stat.S_IMODE(os.stat(agent.fernet / name).st_mode) == 0o600
    c.put("credential", {0: repo.new_key(), 1: repo.new_key()})
    assert len(os.listdir(agent.credential)) == 2
    with pytest.raises(errors.RegionRejected, match="No repository"):
        c.state("other")


def test_malformed_repository_is_refused_and_current_kept(agent, files):
    c = keyagents.client(agent, files)
    keys = {0: repo.new_key(), 1: repo.new_key()}
    c.put("fernet", keys)
    bad = {1: repo.new_key()}  # no staged key
    with pytest.raises(errors.RegionRejected, match="staged") as info:
        c.put("fernet", bad)
    assert info.value.status == 400
    raw = c._session.put(agent.url + "/v1/repositories/fernet", data=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "repository.malformed"
    raw = c._session.put(agent.url + "/v1/repositories/fernet",
                         json={"keys": {"0": "AAAA", "1": keys[1]}})
    assert raw.status_code == 400
    assert repo.read(str(agent.fernet)) == keys


def test_client_without_valid_certificate_is_refused(agent, files, tmp_path):
    # no client certificate at all
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(agent.url + "/v1/health", verify=files["ca_file"], timeout=5)
    # a certificate from another CA
    other = TestCA(tmp_path / "other-ca")
    cert, key = other.issue("intruder", client=True)
    with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
        requests.get(agent.url + "/v1/health", verify=files["ca_file"], cert=(str(cert),
                     str(key)), timeout=5)
    # plain HTTP
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{agent.port}/v1/health", timeout=5)
    # and the agent keeps serving the right client
    ok = requests.get(agent.url + "/v1/health", verify=files["ca_file"],
                      cert=(files["cert_file"], files["key_file"]), timeout=5)
    assert ok.json() == {"status": "ok"}
    assert "refused a client" in keyagents.log_text(agent)


def test_no_key_bytes_in_the_log(agent, files):
    c = keyagents.client(agent, files)
    sent = []
    for _ in range(3):
        keys = {0: repo.new_key(), 1: repo.new_key(), 2: repo.new_key()}
        sent += keys.values()
        c.put("fernet", keys)
        c.state("fernet", with_keys=True)
    with pytest.raises(errors.RegionRejected):
        bad = {"0": sent[0], "1": sent[1][:40]}
        c._call("PUT", "/v1/repositories/fernet", json={"keys": bad})
    log = keyagents.log_text(agent)
    assert "repository written" in log and "refused a repository" in log
    for key in sent:
        assert key not in log and key[:40] not in log


def test_agent_refuses_to_start_without_tls(tmp_path, ca):
    a = keyagents.Agent(ca, tmp_path, "notls")
    a.conf.write_text(a.conf.read_text().replace("cert_file", "#cert_file", 1))
    with pytest.raises(RuntimeError, match="must be set"):
        a.start()


def test_server_context_requires_client_cert(ca):
    from multisite.keyagent import server

    cert, key = ca.issue("ctx", server=True)
    ctx = server.server_context(cert_file=str(cert), key_file=str(key),
                                ca_file=str(ca.cert_file))
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2


def _agent_with_migrate(ca, base, command):
    agent = keyagents.Agent(ca, base, "migrating")
    if command is not None:  # [keyagent] is the last section of the agent's file
        agent.conf.write_text(agent.conf.read_text()
                              + f"credential_migrate_command = {command}\n")
    return agent.start()


def test_credential_migration_runs_the_configured_command(ca, files, tmp_path):
    marker = tmp_path / "migrated"
    agent = _agent_with_migrate(ca, tmp_path, f"/bin/sh -c 'echo run >> {marker}'")
    try:
        c = keyagents.client(agent, files)
        c.put("credential", {0: repo.new_key(), 1: repo.new_key()})
        answer = c.migrate_credentials()
        assert answer["migrated"] is True
        assert answer["hash"] == c.state("credential")["hash"]
        assert marker.read_text() == "run\n"
        assert "Credential migration: returncode=0" in keyagents.log_text(agent)
    finally:
        agent.stop()


def test_a_failing_or_missing_migration_command_is_an_error(ca, files, tmp_path):
    agent = _agent_with_migrate(ca, tmp_path / "failing", "/bin/false")
    try:
        with pytest.raises(errors.RegionUnavailable, match="HTTP 500"):
            keyagents.client(agent, files).migrate_credentials()
    finally:
        agent.stop()
    agent = _agent_with_migrate(ca, tmp_path / "unset", None)
    try:
        with pytest.raises(errors.RegionRejected, match="credential_migrate_command"):
            keyagents.client(agent, files).migrate_credentials()
    finally:
        agent.stop()
