"""The identity kinds' environment: configured nodes, their key agents, the rotation store.

Two kinds run on the engine mechanism: `key_rotation` (durable: one work item per rotation,
leased, resumed by any engine after a crash) and `identity_audit` (one key per deployment,
every `[identity] audit_interval` seconds: hashes, drift repair, scheduled rotations).
"""

from __future__ import annotations

import concurrent.futures
import datetime
import logging
import time

from multisite.clients import errors as client_errors
from multisite.clients import identity as identity_client
from multisite.clients.keyagent import KeyAgentClient
from multisite.engine import controller, leases
from multisite.objects import events, identity_nodes, key_rotations
from multisite.reconcilers import Key, identity_audit, key_rotation

LOG = logging.getLogger(__name__)
DRIFT_EVENT = "identity.node.drift"


class Store:
    """What the reconcilers read and write, over objects/ (they never import it)."""

    def __init__(self, conf):
        self.conf = conf

    def get(self, rotation_id, *, with_keys=False):
        return key_rotations.get(self.conf, rotation_id, with_keys=with_keys)

    def active(self):
        return key_rotations.active(self.conf)

    def start(self, *, reason, repository=key_rotations.FERNET):
        try:
            return key_rotations.create(self.conf, reason=reason, repository=repository)["id"]
        except key_rotations.RotationInProgress:
            return None

    def ensure_item(self, rotation_id):
        key_rotations.ensure_item(self.conf, rotation_id)

    def last_final_hash(self, repository=key_rotations.FERNET):
        return key_rotations.last_final_hash(self.conf, repository)

    def last_started_at(self, repository=key_rotations.FERNET):
        return key_rotations.last_started_at(self.conf, repository)

    def save_target(self, rotation_id, **target):
        return key_rotations.save_target(self.conf, rotation_id, **target)

    def update(self, rotation_id, **values):
        key_rotations.update(self.conf, rotation_id, **values)

    def finish(self, rotation_id, **values):
        key_rotations.finish(self.conf, rotation_id, **values)

    def record_rotation(self, names, **values):
        identity_nodes.record_rotation(self.conf, names, **values)

    def record_check(self, name, **values):
        identity_nodes.record_check(self.conf, name, **values)

    def record_drift(self, node, *, fernet_hash, expected, repaired):
        """On the node (/v2/identity/nodes) and in the event feed (/v2/events)."""
        identity_nodes.record_drift(self.conf, node["name"], fernet_hash=fernet_hash,
                                    repaired=repaired)
        events.record_action(
            self.conf, None, DRIFT_EVENT, region=node["region"], resource_id=node["name"],
            priority="INFO" if repaired else "WARN",
            payload={"node": node["name"], "fernet_hash": fernet_hash, "expected": expected,
                     "repaired": repaired})


class IdentityEnv:
    """Shared by every reconcile of both kinds in one engine (clients are thread-safe)."""

    def __init__(self, conf, engine_id=None, *, wake=None):
        self.conf = conf
        self.opts = conf.identity
        self.store = Store(conf)
        self.max_active_keys = self.opts.max_active_keys
        self.retry_delay = self.opts.retry_delay
        self.rotation_interval = self.opts.fernet_rotation_interval
        self.credential_rotation_interval = self.opts.credential_rotation_interval
        self.wake = wake or (lambda: None)
        self._clients = {}
        self._pool = concurrent.futures.ThreadPoolExecutor(32, thread_name_prefix="identity")

    @staticmethod
    def now():
        return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)

    def nodes(self):
        """The configured nodes, written to the node table (the API lists that)."""
        nodes = identity_nodes.parse_config(self.opts.node)
        identity_nodes.sync(self.conf, nodes)
        self._by_name = {n["name"]: n for n in nodes}
        return nodes

    def _agent(self, node) -> KeyAgentClient:
        client = self._clients.get(node["name"])
        if client is None or client.url != node["agent_url"]:
            client = self._clients[node["name"]] = KeyAgentClient(
                node["agent_url"], node=node["name"], timeout=self.opts.agent_timeout,
                cert_file=self.opts.agent_cert_file, key_file=self.opts.agent_key_file,
                ca_file=self.opts.agent_ca_file)
        return client

    def _each(self, func, items):
        futures = {name: self._pool.submit(func, arg) for name, arg in items}
        answers, errors = {}, {}
        for name, future in futures.items():
            try:
                answers[name] = future.result()
            except client_errors.RegionError as exc:
                answers[name], errors[name] = None, str(exc)
        return answers, errors

    def observe(self, nodes, *, record=False, repository="fernet"):
        """({name: hash of ``repository`` or None}, {name: error}) from every agent, in
        parallel; ``record``: both hashes written to the node table."""
        if repository != "fernet":
            answers, errors = self._each(lambda n: self._agent(n).state(repository)["hash"],
                                         [(n["name"], n) for n in nodes])
            return answers, errors

        def state(node):
            fernet = self._agent(node).state("fernet")["hash"]
            credential = None
            if record:
                try:
                    credential = self._agent(node).state("credential")["hash"]
                except client_errors.RegionRejected:
                    credential = None  # the agent does not manage credential keys
            return fernet, credential

        answers, errors = self._each(state, [(n["name"], n) for n in nodes])
        if record:
            for node in nodes:
                name = node["name"]
                fernet, credential = answers[name] or (None, None)
                self.store.record_check(name, fernet_hash=fernet, credential_hash=credential,
                                        error=errors.get(name))
        return {n: (a[0] if a else None) for n, a in answers.items()}, errors

    def keys(self, name, repo="fernet"):
        return self._agent(self._by_name[name]).keys(repo)

    def push(self, assignments, repository="fernet"):
        """Write {name: keys} to those agents in parallel: ({name: hash or None}, errors)."""
        def put(item):
            name, keys = item
            return self._agent(self._by_name[name]).put(repository, keys)["hash"]

        return self._each(put, [(name, (name, keys)) for name, keys in assignments.items()])

    def migrate_credentials(self, name):
        """Keystone's credential_migrate on node ``name`` (through its agent)."""
        return self._agent(self._by_name[name]).migrate_credentials(
            timeout=self.opts.credential_migrate_timeout)

    def verify_credentials(self, nodes):
        """{"credentials@node": status}: each Keystone lists (decrypts) every credential."""
        creds, timeout = self._credentials(), self.opts.verify_timeout
        first = nodes[0]["keystone_url"]
        token = identity_client.issue_token(first, timeout=timeout, **creds)
        if token is None:
            return {f"credentials@{n['name']}": 0 for n in nodes}
        statuses, _ = self._each(
            lambda n: identity_client.read_credentials(n["keystone_url"], token,
                                                       timeout=timeout),
            [(f"credentials@{n['name']}", n) for n in nodes])
        return statuses

    def _credentials(self):
        cache = self.conf.cache
        return {"username": self.opts.verify_username or cache.admin_username,
                "password": self.opts.verify_password or cache.admin_password,
                "project_name": self.opts.verify_project_name or cache.admin_tenant,
                "domain_name": self.opts.verify_domain_name}

    def verify(self, nodes):
        """{"issuer->validator": status}: a token issued at each Keystone, validated at all."""
        creds, timeout = self._credentials(), self.opts.verify_timeout
        tokens, _ = self._each(lambda n: identity_client.issue_token(
            n["keystone_url"], timeout=timeout, **creds), [(n["name"], n) for n in nodes])
        pairs = [(f"{a['name']}->{b['name']}", (tokens[a["name"]], b))
                 for a in nodes for b in nodes]

        def check(arg):
            token, node = arg
            if token is None:
                return 0
            for _ in range(3):
                status = identity_client.validate_token(node["keystone_url"], token,
                                                        timeout=timeout)
                # 200: valid, 401/404: these keys cannot read it. Anything else (a 403 from
                # a policy engine still loading in a fresh worker) says nothing of the keys.
                if status in (200, 401, 404):
                    break
                time.sleep(0.5)
            return status

        matrix, _ = self._each(check, pairs)
        return matrix


def _leases(conf, engine_id):
    return leases.WorkItemLeases(conf, kind=key_rotations.KIND, engine_id=engine_id,
                                 lease=conf.identity.lease, max_attempts=None,
                                 scan_interval=conf.identity.scan_interval)


def _retry(conf):
    # a rotation waits for its nodes as long as it takes (visible in its status)
    return controller.Retry(base=conf.identity.retry_delay, cap=conf.identity.retry_delay,
                            jitter=0.1, max_attempts=None)


def _audit_interval(conf):
    if not conf.identity.node:
        return None
    interval = conf.identity.audit_interval
    if conf.identity.fernet_rotation_interval:
        interval = min(interval, conf.identity.fernet_rotation_interval)
    return interval


KINDS = [
    controller.Kind(name=key_rotations.KIND, reconciler=key_rotation,
                    env=lambda conf, engine_id: IdentityEnv(conf, engine_id),
                    leases=_leases, retry=_retry, conf_group="identity"),
    controller.Kind(name="identity_audit", reconciler=identity_audit,
                    env=lambda conf, engine_id: IdentityEnv(conf, engine_id),
                    lister=lambda env: [Key("identity_audit", identity_audit.KEY_ID)],
                    resync_interval=_audit_interval, conf_group="identity"),
]
