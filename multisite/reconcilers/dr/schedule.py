"""Scheduled checkpoints: each ready plan with a schedule gets a checkpoint when one is due.

A periodic kind without rows of its own: the lister names the scheduled plans, each engine
keeps those the ring gives it, and `due` (pure) decides from the plan's newest checkpoint.
The checkpoint itself is the durable `dr_checkpoint` job; one per plan runs at a time.
"""

from __future__ import annotations

import datetime
import logging

from multisite.reconcilers import Key, Outcome

LOG = logging.getLogger(__name__)

KIND = "dr_schedule"


def due(interval, last_started, now):
    """True when a plan checkpointed every `interval` s, last at `last_started`, is due."""
    if last_started is None:
        return True
    return (now - last_started).total_seconds() >= interval


def keys(env):
    return [Key(KIND, plan["id"], plan["source_region"]) for plan in env.store.scheduled()]


def reconcile(key, env):
    shared = env.shared
    plan = shared.store.plan(key.id)
    if plan is None or not plan["schedule"] or plan["status"] != "ready":
        return Outcome.done()
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    interval = plan["schedule"]["interval"]
    last = shared.store.last_checkpoint_at(key.id)
    if not due(interval, last, now):
        return Outcome.done()
    started = shared.store.start_checkpoint(key.id)
    if started:
        LOG.info("Scheduled checkpoint started: plan=%s checkpoint=%s", key.id, started)
    return Outcome.done(result=started)
