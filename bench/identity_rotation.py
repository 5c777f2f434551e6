"""Wall time of one Fernet key rotation (prepare + distribute + promote, and verification when
real Keystones are there) across N key agents, against one agent; prints the ratio.

Simulated nodes are real `multisite-keyagent` processes (mutual TLS, atomic writes) on
temporary repositories, without a Keystone: their rotation is timed without verification.
`--real` adds two real Keystones on one database (tests/integration/keystones.py, from the
devcloud venv) and times full rotations including the 2 x 2 verification matrix.

The rotation runs in this process through the same reconcile() the engine runs, with the
engine's IdentityEnv (parallel agent calls), on a temporary SQLite database.

Usage: python -m bench.identity_rotation [--nodes 1,20] [--rounds 5] [--real]
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from multisite import rpc
from multisite.conf import CONF
from multisite.db import migration
from multisite.devcloud import layout
from multisite.devcloud.pki import TestCA
from multisite.engine import controller, identity
from multisite.keyagent import repository
from multisite.objects import key_rotations
from multisite.reconcilers import Key, key_rotation
from tests.functional.identity import keyagents


class NoVerify(identity.IdentityEnv):
    """Simulated nodes have no Keystone: every pair counts as validated."""

    def verify(self, nodes):
        return {f"{a['name']}->{b['name']}": 200 for a in nodes for b in nodes}


def configure(base, nodes, files, verify_creds=None):
    CONF.reset()
    CONF.set_override("connection", f"sqlite:///{base / 'ms.sqlite'}", group="database")
    migration.db_sync(CONF)
    CONF.set_override("node", nodes, group="identity")
    for name, value in {"agent_cert_file": files["cert_file"], "agent_key_file":
                        files["key_file"], "agent_ca_file": files["ca_file"],
                        "max_active_keys": 5, "retry_delay": 0.2}.items():
        CONF.set_override(name, value, group="identity")
    for name, value in (verify_creds or {}).items():
        CONF.set_override(name, value, group="identity")


def rotate_once(env):
    rotation = key_rotations.create(CONF)
    started = time.perf_counter()
    key_rotation.reconcile(Key("key_rotation", rotation["id"]),
                           controller.Env(shared=env, conf=CONF, engine_id="bench"))
    took = time.perf_counter() - started
    assert key_rotations.get(CONF, rotation["id"])["status"] == "done"
    return took


def simulated(count, rounds, base, ca, files):
    agents = [keyagents.Agent(ca, base, f"sim-{count}-{i}").start() for i in range(count)]
    try:
        for agent in agents:
            repository.write(str(agent.fernet), {0: repository.new_key(),
                                                 1: repository.new_key()})
        nodes = [f"n{i}|R{i}|http://127.0.0.1:9/v3|{a.url}" for i, a in enumerate(agents)]
        base_db = base / f"db-{count}"
        base_db.mkdir()
        configure(base_db, nodes, files)
        env = NoVerify(CONF)
        rotate_once(env)  # adoption (first contact with every agent), not timed
        return [rotate_once(env) for _ in range(rounds)]
    finally:
        for agent in agents:
            agent.stop()


def real(rounds, base):
    from tests.integration.keystones import KeystonePair

    pair = KeystonePair(layout.default_base() / "venv", base / "real", offset=15,
                        max_active_keys=5).setup().start()
    try:
        (base / "realdb").mkdir()
        configure(base / "realdb", pair.node_options(), pair.client_files,
                  {"verify_username": "admin", "verify_password": "adminpw",
                   "verify_project_name": "admin"})
        env = identity.IdentityEnv(CONF)
        rotate_once(env)
        return [rotate_once(env) for _ in range(rounds)]
    finally:
        pair.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", default="1,20")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--real", action="store_true")
    args = parser.parse_args()
    rpc.register_opts(CONF)
    CONF([], project="multisite", default_config_files=[])
    base = Path(tempfile.mkdtemp(prefix="bench-identity-"))
    ca = TestCA(base / "ca")
    files = keyagents.client_files(ca)
    results = {}
    for count in [int(n) for n in args.nodes.split(",")]:
        times = simulated(count, args.rounds, base, ca, files)
        results[count] = statistics.median(times)
        print(f"simulated agents={count:3d}  rotation median={results[count] * 1000:8.1f} ms  "
              f"min={min(times) * 1000:8.1f} ms  max={max(times) * 1000:8.1f} ms  "
              f"(prepare+distribute+promote, {args.rounds} rounds)")
    counts = sorted(results)
    if len(counts) > 1:
        print(f"ratio {counts[-1]} agents / {counts[0]} agent: "
              f"{results[counts[-1]] / results[counts[0]]:.2f}x")
    if args.real:
        times = real(args.rounds, base)
        print(f"real keystones=2  rotation+verification median={statistics.median(times):.2f} s"
              f"  min={min(times):.2f} s  max={max(times):.2f} s  ({args.rounds} rounds)")


if __name__ == "__main__":
    main()
