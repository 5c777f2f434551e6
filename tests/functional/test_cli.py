"""docs/cli.md and the README run as tests, so the documentation cannot go stale.

Every fenced block whose info string is ``console all-in-one`` runs here, in order, against a
`multisite-all-in-one` subprocess (noauth, SQLite, fake:// messaging) on a free port; the
``console devcloud`` blocks run in tests/integration/test_cli_integration.py against the real
Keystone. In a block, ``$ <command>`` lines are run with bash (one environment carried
through the document: ``export`` and ``VAR=$(...)`` persist); the lines after a command are
its expected stdout+stderr. In expected lines, ``...`` matches any text, and a line that is
only ``...`` matches any number of lines. ``http://127.0.0.1:8118`` in a command is replaced
with the test server's URL.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "cli.md"
README = REPO / "README.md"
BIN = Path(sys.executable).parent
FENCE = re.compile(r"^```console (?P<tag>[\w-]+)\n(?P<body>.*?)^```$", re.M | re.S)


def blocks(tag, text=None, *, doc=DOC):
    """[(line number, [(command, [expected lines])])] of the blocks tagged ``tag``."""
    text = doc.read_text() if text is None else text
    found = []
    for match in FENCE.finditer(text):
        if match.group("tag") != tag:
            continue
        steps = []
        for line in match.group("body").splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
        found.append((text.count("\n", 0, match.start()) + 1, steps))
    return found


def _line_regex(line):
    return re.compile("^" + ".*".join(re.escape(part) for part in line.split("...")) + "$")


def matches(expected, actual):
    """True when the actual lines fit the expected lines (with ``...`` wildcards)."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and bool(_line_regex(head).match(actual[0])) and matches(rest, actual[1:])


def run_doc(tag, env, *, url=None, cwd=None, doc=DOC):
    """Run every ``console <tag>`` block; fail on the first output that differs."""
    env = dict(env)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    ran = 0
    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "env"
        for lineno, steps in blocks(tag, doc=doc):
            for command, expected in steps:
                if url:
                    command = command.replace("http://127.0.0.1:8118", url)
                script = (f"set -a\n{command}\n__rc=$?\nenv -0 > {env_file}\nexit $__rc\n")
                proc = subprocess.run(["bash", "-c", script], env=env, cwd=cwd or tmp,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, timeout=300)
                actual = proc.stdout.splitlines()
                if not matches(expected, actual):
                    pytest.fail(f"{doc.name} block at line {lineno}: `{command}` "
                                f"(exit {proc.returncode}) printed:\n{proc.stdout}\n"
                                "expected:\n" + "\n".join(expected))
                if env_file.exists():
                    env = dict(item.split("=", 1) for item in
                               env_file.read_text().split("\0") if "=" in item)
                ran += 1
    return ran


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env():
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("OS_", "MULTISITE_"))}


def test_matcher():
    assert matches(["a ... c", "...", "z"], ["a b c", "x", "y", "z"])
    assert matches(["..."], [])
    assert not matches(["a"], ["a", "b"])


@pytest.fixture
def all_in_one(tmp_path):
    port = free_port()
    conf = tmp_path / "multisite.conf"
    conf.write_text(f"[DEFAULT]\nbind_host = 127.0.0.1\nbind_port = {port}\n"
                    "[scheduler]\nperiodic_enable = false\n")
    env = clean_env() | {"MULTISITE_STATE_DIR": str(tmp_path / "state")}
    log = open(tmp_path / "all-in-one.log", "wb")
    proc = subprocess.Popen([str(BIN / "multisite-all-in-one"), "--config-file", str(conf)],
                            env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("multisite-all-in-one did not start:\n"
                            + (tmp_path / "all-in-one.log").read_text()[-3000:])
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_docs_cli_md_all_in_one(all_in_one):
    ran = run_doc("all-in-one", clean_env(), url=all_in_one)
    assert ran >= 15


def test_readme_all_in_one(all_in_one):
    """The README's first steps (curl against the all-in-one) work as printed."""
    assert run_doc("all-in-one", clean_env(), url=all_in_one, doc=README) >= 9


def test_event_list_follow(all_in_one):
    """`multisite event list --follow` prints an event made after it started."""
    env = clean_env() | {"OS_MULTISITE_URL": all_in_one, "OS_MULTISITE_ROLES": "admin",
                         "OS_PROJECT_ID": "2f6c1b3e8d0a4c5f9e7d6b5a4c3b2a10",
                         "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    target = "0123456789abcdef0123456789abcdef"
    follow = subprocess.Popen(
        [str(BIN / "multisite"), "event", "list", "--project", target, "--follow",
         "--poll-interval", "0.5", "-f", "value"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(3)           # it has printed the (empty) history and is polling
        subprocess.run([str(BIN / "multisite"), "quota", "update", target, "--cores", "3"],
                       env=env, check=True, capture_output=True, timeout=60)
        line = follow.stdout.readline()
        assert "multisite.quota.update" in line and target in line, line
    finally:
        follow.terminate()
        follow.wait(timeout=10)
