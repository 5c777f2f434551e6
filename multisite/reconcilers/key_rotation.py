"""Fernet key rotation across Keystone nodes: pure planning of Keystone's protocol, in two phases.

Keystone's repository: key 0 is the staged key (the next primary), the highest index is the
primary (it encrypts), the others are secondaries; every key decrypts. A rotation here is:

1. prepare: take the repository every node should hold (the base), draw a new key K;
2. distribute the *staged* repository D = base + K as a secondary to every node, and wait
   until each one confirms it wrote it (its agent answers D's hash). The primary does not
   change, so a node holding D and a node holding the base issue and accept the same tokens;
3. only then promote, distributing the *final* repository F: the old staged key becomes the
   primary, K becomes the staged key, and the lowest secondaries beyond max_active_keys go.
   A node holding F issues tokens with the old staged key, which every node holding D (or
   the base) has; F keeps the old primary as a secondary, so tokens issued by nodes still
   holding D keep validating on nodes holding F;
4. verify: a token issued at every Keystone validates at every other.

A node that does not confirm blocks the next phase (never skipped), so at no moment two
nodes have a primary the other cannot decrypt. Everything here is pure: the controller
reads the nodes' hashes, asks `plan` what to write where, writes, and asks again.
"""

from __future__ import annotations

import dataclasses
import logging

from multisite.clients import errors as client_errors
from multisite.keyagent import repository
from multisite.reconcilers import Outcome, PermanentError, TemporaryError

LOG = logging.getLogger(__name__)

PREPARE = "prepare"
DISTRIBUTE = "distribute"
PROMOTE = "promote"
VERIFY = "verify"
DONE = "done"
PHASES = (PREPARE, DISTRIBUTE, PROMOTE, VERIFY, DONE)

STAGED = "staged"
FINAL = "final"

FERNET = "fernet"
CREDENTIAL = "credential"
# Keystone keeps at most 3 credential keys (staged, primary, one secondary), whatever
# [fernet_tokens] max_active_keys says
CREDENTIAL_MAX_ACTIVE_KEYS = 3


def primary(keys: dict[int, str]) -> int:
    return max(keys)


def stage(base: dict[int, str], new_key: str) -> dict[int, str]:
    """``base`` plus ``new_key`` as a secondary: at the lowest free index below the primary,
    else at 1 with the other non-zero indexes shifted up by one (same primary key)."""
    top = primary(base)
    free = [i for i in range(1, top) if i not in base]
    if free:
        return {**base, free[0]: new_key}
    shifted = {(i + 1 if i else 0): key for i, key in base.items()}
    shifted[1] = new_key
    return shifted


def promote(staged: dict[int, str], new_key: str, max_active_keys: int) -> dict[int, str]:
    """Keystone's rotation applied to ``staged``: key 0 becomes the primary (max + 1),
    ``new_key`` becomes key 0, and only the max_active_keys - 2 highest other keys stay."""
    if max_active_keys < 3:
        raise ValueError("max_active_keys must be at least 3 (staged, primary, previous)")
    others = {i: k for i, k in staged.items() if i != 0 and k != new_key}
    new_primary = primary(staged) + 1
    kept = sorted(others, reverse=True)[: max_active_keys - 2]
    final = {i: others[i] for i in kept}
    final[new_primary] = staged[0]
    final[0] = new_key
    return final


@dataclasses.dataclass(frozen=True)
class Target:
    """The two repositories of one rotation and their hashes (what the nodes must answer)."""

    staged: dict[int, str]
    final: dict[int, str]

    @property
    def staged_hash(self) -> str:
        return repository.digest(self.staged)

    @property
    def final_hash(self) -> str:
        return repository.digest(self.final)


def prepare(base: dict[int, str], new_key: str, max_active_keys: int) -> Target:
    staged = stage(base, new_key)
    return Target(staged=staged, final=promote(staged, new_key, max_active_keys))


def choose_base(nodes: list[str], observed: dict[str, str | None], expected: str | None):
    """The node whose repository a rotation starts from: the first holding the expected
    hash (the last completed rotation's), else the first node (adoption of a deployment).
    Returns (node, None) or (None, reason to wait)."""
    if expected:
        for node in nodes:
            if observed.get(node) == expected:
                return node, None
    first = nodes[0]
    if observed.get(first) is None:
        return None, f"reference node {first} unreachable"
    return first, None


@dataclasses.dataclass(frozen=True)
class Step:
    """What to do now: ``phase`` is where the rotation stands after the pushes succeed."""

    phase: str
    push: dict[str, str]  # node -> STAGED | FINAL
    waiting: tuple[str, ...] = ()  # unreachable nodes that block the next phase


def plan(phase: str, *, nodes: list[str], observed: dict[str, str | None],
         staged_hash: str, final_hash: str) -> Step:
    """The next step of a rotation in ``phase`` given each node's answered hash (None when
    its agent did not answer). Pure; calling it again after the pushes moves on."""
    if phase in (VERIFY, DONE, PREPARE):
        return Step(phase, {})
    if phase == DISTRIBUTE:
        have = (staged_hash, final_hash)  # a node holding F holds K as well
        waiting = tuple(n for n in nodes if observed.get(n) is None)
        push = {n: STAGED for n in nodes
                if observed.get(n) is not None and observed[n] not in have}
        if waiting or push:
            return Step(DISTRIBUTE, push, waiting)
        phase = PROMOTE
    waiting = tuple(n for n in nodes if observed.get(n) is None)
    push = {n: FINAL for n in nodes if observed.get(n) is not None and observed[n] != final_hash}
    if waiting or push:
        return Step(PROMOTE, push, waiting)
    return Step(VERIFY, {})


def verification_failures(matrix: dict[str, int]) -> list[str]:
    """Pairs ("issuer->validator") whose validation did not answer 200."""
    return sorted(pair for pair, status in matrix.items() if status != 200)


# -- applying the plan ---------------------------------------------------------------------
def _progress(names, observed, errors, staged_hash, final_hash):
    state = {staged_hash: STAGED, final_hash: FINAL}
    out = {}
    for name in names:
        got = observed.get(name)
        entry = {"hash": got, "state": state.get(got, "unreachable" if got is None else "base")}
        if errors.get(name):
            entry["error"] = errors[name]
        out[name] = entry
    return out


def max_active_keys(repo: str, configured: int) -> int:
    return CREDENTIAL_MAX_ACTIVE_KEYS if repo == CREDENTIAL else configured


def _prepare(rotation, env, names, observed, repo):
    """Draw the new key and record both target repositories (once); the refreshed row."""
    base_node, reason = choose_base(names, observed, env.store.last_final_hash(repo))
    if base_node is None:
        env.store.update(rotation["id"], phase=PREPARE, status="waiting", nodes={},
                         error=reason)
        raise TemporaryError(reason, delay=env.retry_delay)
    target = prepare(env.keys(base_node, repo), repository.new_key(),
                     max_active_keys(repo, env.max_active_keys))
    env.store.save_target(rotation["id"], base_node=base_node, staged=target.staged,
                          final=target.final, staged_hash=target.staged_hash,
                          final_hash=target.final_hash)
    return env.store.get(rotation["id"], with_keys=True)


def reconcile(key, env):
    """Move one rotation (key.id) as far as the nodes allow; wait (retry) on any that lag."""
    shared = env.shared
    rotation = shared.store.get(key.id, with_keys=True)
    if rotation["status"] in ("done", "failed"):
        return Outcome.done()
    nodes = shared.nodes()
    if not nodes:
        shared.store.finish(key.id, ok=False, error="no [identity] node is configured")
        raise PermanentError("no [identity] node is configured")
    names = [n["name"] for n in nodes]
    repo = rotation.get("repository") or FERNET
    observed, errors = shared.observe(nodes, repository=repo)
    if rotation["phase"] == PREPARE:
        rotation = _prepare(rotation, shared, names, observed, repo)
    repos = {STAGED: rotation["staged_keys"], FINAL: rotation["final_keys"]}
    hashes = {"staged_hash": rotation["staged_hash"], "final_hash": rotation["final_hash"]}
    phase = rotation["phase"]
    for _ in range(4):  # distribute, then promote; more means an agent answers nonsense
        step = plan(phase, nodes=names, observed=observed, **hashes)
        if not step.push:
            break
        answers, push_errors = shared.push({n: repos[which] for n, which in step.push.items()},
                                           repository=repo)
        observed.update(answers)
        errors.update(push_errors)
        shared.store.update(key.id, phase=step.phase, status="running",
                            nodes=_progress(names, observed, errors, **hashes))
        phase = step.phase
    progress = _progress(names, observed, errors, **hashes)
    if step.phase != VERIFY:
        lagging = sorted(set(step.waiting) | set(step.push))
        reason = f"{step.phase}: waiting for {', '.join(lagging)}"
        shared.store.update(key.id, phase=step.phase, status="waiting", nodes=progress,
                            error=reason)
        LOG.warning("Key rotation waiting: rotation=%s phase=%s nodes=%s", key.id,
                    step.phase, ",".join(lagging))
        raise TemporaryError(reason, delay=shared.retry_delay)
    shared.store.update(key.id, phase=VERIFY, status="running", nodes=progress)
    if repo == CREDENTIAL:
        _migrate(key.id, shared, rotation, names, observed, progress)
        matrix = shared.verify_credentials(nodes)
    else:
        matrix = shared.verify(nodes)
    unreachable = sorted(pair for pair, status in matrix.items() if not status)
    if unreachable:
        reason = f"verify: Keystone unreachable for {', '.join(unreachable)}"
        shared.store.update(key.id, phase=VERIFY, status="waiting", nodes=progress,
                            error=reason)
        raise TemporaryError(reason, delay=shared.retry_delay)
    failures = verification_failures(matrix)
    shared.store.record_rotation(names, rotation_id=key.id, matrix=matrix,
                                 **{f"{repo}_hash": rotation["final_hash"]})
    if failures:
        error = "token validation failed for " + ", ".join(failures)
        shared.store.finish(key.id, ok=False, verification=matrix, error=error, nodes=progress)
        LOG.error("Key rotation verification failed: rotation=%s pairs=%s", key.id,
                  ",".join(failures))
        raise PermanentError(error)
    shared.store.finish(key.id, ok=True, verification=matrix, nodes=progress)
    LOG.info("Key rotation done: rotation=%s repository=%s nodes=%d hash=%s", key.id, repo,
             len(names), rotation["final_hash"][:12])
    return Outcome.done(result=key.id)


def migrate_node(base_node, names, observed):
    """The node that runs credential_migrate: the rotation's base node, else the first that
    answers (one is enough: the database is shared); None when none answers."""
    order = [base_node, *(n for n in names if n != base_node)]
    return next((n for n in order if n in names and observed.get(n) is not None), None)


def _migrate(rotation_id, shared, rotation, names, observed, progress):
    """Credential keys: every node holds F, so re-encrypt every credential with F's primary
    (Keystone's credential_migrate, on one node). The next rotation drops today's
    secondary; only then is no credential left under it. Retried, visible in the status,
    until it succeeds: a rotation never ends with credentials under a key the next
    rotation would remove."""
    name = migrate_node(rotation["base_node"], names, observed)
    if name is not None:
        try:
            shared.migrate_credentials(name)
            LOG.info("Credentials migrated: rotation=%s node=%s", rotation_id, name)
            return
        except client_errors.RegionError as exc:
            reason = f"migrate: {exc}"
    else:
        reason = "migrate: no node answers"
    shared.store.update(rotation_id, phase=VERIFY, status="waiting", nodes=progress,
                        error=reason)
    LOG.warning("Key rotation waiting: rotation=%s phase=migrate reason=%s", rotation_id,
                reason)
    raise TemporaryError(reason, delay=shared.retry_delay)
