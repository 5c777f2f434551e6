"""Identity audit: every node's repository hashes, drift repaired, rotations started on schedule.

One key per deployment, reconciled every audit pass. It records what each key agent answers,
re-adds the work item of a running rotation if a crash lost it, rewrites the Fernet repository
of a node whose hash differs from the last completed rotation's (copying it from a node that
holds it), and starts a rotation when `[identity] fernet_rotation_interval` (or, for the
credential keys, `credential_rotation_interval`) has passed.
"""

from __future__ import annotations

import datetime
import logging

from multisite.reconcilers import Outcome

LOG = logging.getLogger(__name__)
KEY_ID = "nodes"


def plan_repairs(names, observed, expected):
    """(source node, nodes to rewrite): the nodes answering another hash than ``expected``;
    nothing while no node holds it (a person must decide) or nothing is expected yet."""
    if not expected:
        return None, []
    source = next((n for n in names if observed.get(n) == expected), None)
    if source is None:
        return None, []
    return source, [n for n in names if observed.get(n) not in (None, expected)]


def rotation_due(*, interval, last_started, now) -> bool:
    if not interval:
        return False
    return last_started is None or now - last_started >= datetime.timedelta(seconds=interval)


def reconcile(key, env):
    shared = env.shared
    nodes = shared.nodes()
    names = [n["name"] for n in nodes]
    observed, errors = shared.observe(nodes, record=True)
    running = shared.store.active()
    if running is not None:
        shared.store.ensure_item(running["id"])
        return Outcome.done(result={"rotation": running["id"]})
    expected = shared.store.last_final_hash()
    source, drifted = plan_repairs(names, observed, expected)
    repaired = []
    if drifted:
        keys = shared.keys(source)
        answers, push_errors = shared.push({n: keys for n in drifted})
        repaired = sorted(n for n in drifted if n not in push_errors)
        by_name = {n["name"]: n for n in nodes}
        for name in drifted:
            LOG.warning("Identity node drifted: node=%s hash=%s repaired=%s", name,
                        (observed.get(name) or "")[:12], name in repaired)
            shared.store.record_drift(by_name[name], fernet_hash=observed.get(name),
                                      expected=expected, repaired=name in repaired)
        shared.observe([n for n in nodes if n["name"] in drifted], record=True)
    started = None
    for repo, interval in (("fernet", shared.rotation_interval),
                           ("credential", shared.credential_rotation_interval)):
        if started or not rotation_due(interval=interval,
                                       last_started=shared.store.last_started_at(repo),
                                       now=shared.now()):
            continue  # one rotation at a time: the other one on a later pass
        started = shared.store.start(reason="schedule", repository=repo)
        if started:
            LOG.info("Key rotation scheduled: rotation=%s repository=%s interval=%d",
                     started, repo, interval)
            shared.wake()
    return Outcome.done(result={"repaired": repaired, "rotation": started,
                                "unreachable": sorted(errors)})
