"""Starting the services as an operator or a newcomer would (issue 10 items 1, 12, 13, 15, 18).

Each test starts a real process on a free port and stops it; the demo path of the README
(`tools/run.sh`) runs with the package index unreachable, so a start that needs the network
fails here.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from multisite.api import app as api_app
from tests.functional.api import servers
from tests.functional.api.servers import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SERVICES = ["multisite-api", "multisite-engine", "multisite-manage", "multisite-all-in-one"]


def listening_addresses(port):
    """The local addresses of the sockets listening on `port` (from /proc/net/tcp*)."""
    found = set()
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not os.path.exists(name):
            continue
        with open(name) as f:
            next(f)
            for line in f:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address if len(address) == width else "?")
    return found


def offline_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "MULTISITE_"))}
    # any attempt to reach the package index fails at once
    env.update(PIP_NO_INDEX="1", PIP_INDEX_URL="http://127.0.0.1:9/", PIP_FIND_LINKS="",
               MULTISITE_STATE_DIR=str(tmp_path / "state"), **extra)
    return env


def wait_up(proc, port, log, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"not up after {timeout}s:\n{log.read_text()[-3000:]}")


def start(argv, tmp_path, *, cwd=None, env=None):
    log = tmp_path / "service.log"
    out = open(log, "wb")  # noqa: SIM115 (closed by servers.stop)
    proc = subprocess.Popen(argv, cwd=cwd or tmp_path, env=env or offline_env(tmp_path),
                            stdout=out, stderr=subprocess.STDOUT)
    proc.log = out
    return proc, log


# -- item 1: noauth listens on loopback only ---------------------------------------------

def test_all_in_one_defaults_listen_on_loopback_only(tmp_path):
    port = free_port()
    conf = tmp_path / "port.conf"
    conf.write_text(f"[DEFAULT]\nbind_port = {port}\n")  # everything else embedded
    proc, log = start([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)], tmp_path)
    try:
        wait_up(proc, port, log)
        assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
    finally:
        servers.stop(proc)


def test_all_in_one_serves_the_gateway_and_stops_it(tmp_path):
    port, gateway = free_port(), free_port()
    conf = tmp_path / "port.conf"
    conf.write_text(f"[DEFAULT]\nbind_port = {port}\n[gateway]\nbind_port = {gateway}\n")
    proc, log = start([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)], tmp_path)
    try:
        wait_up(proc, port, log)
        wait_up(proc, gateway, log)
        with urllib.request.urlopen(f"http://127.0.0.1:{gateway}/", timeout=5) as resp:
            assert json.load(resp)["services"][0]["service"] == "compute"
        assert listening_addresses(gateway) == {"0100007F"}
    finally:
        servers.stop(proc)
    deadline = time.monotonic() + 30
    while listening_addresses(gateway) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not listening_addresses(gateway), "the gateway outlived the all-in-one"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "api.example.com"])
def test_noauth_on_a_remote_address_refuses_to_start(tmp_path, host):
    conf = tmp_path / "open.conf"
    conf.write_text(f"[DEFAULT]\nbind_host = {host}\nbind_port = {free_port()}\n")
    proc = subprocess.run([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)],
                          cwd=tmp_path, env=offline_env(tmp_path), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert f"bind_host = {host}" in proc.stderr
    assert "noauth_insecure_allow_remote_bind" in proc.stderr
    assert not (tmp_path / "state").exists()  # refused before creating anything


@pytest.mark.parametrize("service", ["multisite-gateway", "multisite-all-in-one"])
def test_noauth_gateway_on_a_remote_address_refuses_to_start(tmp_path, service):
    """The gateway serves on [gateway] bind_host: that address decides, not the API's."""
    conf = tmp_path / "open.conf"
    conf.write_text(f"[DEFAULT]\nauth_strategy = noauth\nbind_host = 127.0.0.1\n"
                    f"bind_port = {free_port()}\n"
                    f"[gateway]\nbind_host = 0.0.0.0\nbind_port = {free_port()}\n"
                    f"in_all_in_one = true\n")
    try:
        proc = subprocess.run([str(BIN / service), "--config-file", str(conf)],
                              cwd=tmp_path, env=offline_env(tmp_path), capture_output=True,
                              text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{service} started a noauth gateway on 0.0.0.0")
    assert proc.returncode != 0
    assert "[gateway] bind_host = 0.0.0.0" in proc.stderr
    assert not (tmp_path / "state").exists()  # refused before creating anything


def test_noauth_gateway_rule_reads_the_gateways_address(conf):
    conf.set_override("bind_host", "0.0.0.0")        # the API's address does not matter
    try:
        assert api_app.auth_config_problem(conf, ("[gateway] bind_host", "127.0.0.1")) is None
        assert "[gateway] bind_host = 192.0.2.1" in api_app.auth_config_problem(
            conf, ("[gateway] bind_host", "192.0.2.1"))
    finally:
        conf.clear_override("bind_host")


@pytest.mark.parametrize("host, allow, refused", [
    ("127.0.0.1", False, False), ("127.8.9.10", False, False), ("::1", False, False),
    ("localhost", False, False), ("0.0.0.0", False, True), ("192.0.2.1", False, True),
    ("0.0.0.0", True, False)])
def test_noauth_bind_rule(conf, host, allow, refused):
    conf.set_override("bind_host", host)
    conf.set_override("noauth_insecure_allow_remote_bind", allow)
    try:
        assert bool(api_app.auth_config_problem(conf)) is refused
    finally:
        conf.clear_override("bind_host")
        conf.clear_override("noauth_insecure_allow_remote_bind")


# -- item 15: a missing config file -------------------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_missing_config_file_is_one_line_and_exit_2(tmp_path, service):
    argv = [str(BIN / service), "--config-file", "/nonexistent.conf"]
    if service == "multisite-manage":
        argv.append("db_version")
    proc = subprocess.run(argv, cwd=tmp_path, env=offline_env(tmp_path), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"{service}: error: Failed to find some config files: /nonexistent.conf"]


# -- items 12, 13, 18: the demo script, offline, leaving the working directory alone -----

def test_run_sh_passes_its_arguments_and_starts_offline(tmp_path):
    """`tools/run.sh --config-file X` starts (its arguments are not pip's), without the
    package index (installed once), and puts nothing in the working directory when the
    config names another state directory."""
    if not (REPO / ".venv" / "bin" / "multisite-all-in-one").exists():
        pytest.skip("tools/run.sh uses the checkout's .venv, which is not installed")
    port = free_port()
    conf = tmp_path / "run.conf"
    conf.write_text(f"[DEFAULT]\nbind_port = {port}\nstate_path = {tmp_path / 'elsewhere'}\n")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = offline_env(tmp_path)
    env.pop("MULTISITE_STATE_DIR")
    subprocess.run(["bash", "-c", ". tools/venv.sh test"], cwd=REPO, check=True,
                   env=os.environ.copy(), capture_output=True, timeout=600)  # the stamp
    proc, log = start([str(REPO / "tools" / "run.sh"), "--config-file", str(conf)], tmp_path,
                      cwd=cwd, env=env)
    try:
        wait_up(proc, port, log)
    finally:
        servers.stop(proc)
    assert "InvalidRequirement" not in log.read_text()
    assert list(cwd.iterdir()) == []
    assert (tmp_path / "elsewhere" / "multisite.sqlite").exists()
    assert (tmp_path / "elsewhere" / "locks").is_dir()


def test_run_sh_help_reaches_the_service(tmp_path):
    proc = subprocess.run([str(REPO / "tools" / "run.sh"), "--help"], cwd=tmp_path,
                          env=offline_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "usage: multisite-all-in-one" in proc.stdout


# -- item 6: what the WSGI server refuses itself is JSON too ------------------------------

def _raw(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.fixture(scope="module")
def early_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("early")
    port = free_port()
    conf = tmp_path / "port.conf"
    conf.write_text(f"[DEFAULT]\nbind_port = {port}\n")
    proc, log = start([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)], tmp_path)
    try:
        wait_up(proc, port, log)
        yield port, log
    finally:
        servers.stop(proc)


@pytest.mark.parametrize("data, status, code", [
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414, "request.uri_too_long"),
    (b"NOT A REQUEST LINE\r\n\r\n", 400, "request.malformed"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200))
     + b"\r\n", 431, "request.headers_too_large"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"v" * 9000 + b"\r\n\r\n", 431,
     "request.headers_too_large"),
])
def test_server_early_errors_are_json(early_server, data, status, code):
    port, log = early_server
    got, headers, body = _raw(port, data)
    assert got == status, body
    assert headers["content-type"] == "application/json"
    assert headers["x-openstack-request-id"].startswith("req-")
    assert json.loads(body)["error"]["code"] == code
    assert f"status={status}" in log.read_text()
