"""Scheduled checkpoints: each ready plan with a schedule gets a checkpoint when one is due.

A periodic kind without rows of its own: the lister names the scheduled plans, each engine
keeps those the ring gives it, and `due` (pure) decides from the plan's newest checkpoint.
The checkpoint itself is the durable `dr_checkpoint` job; one per plan runs at a time.

A plan not due yet is looked at again when it will be (`requeue_after`), not at the next
pass (`[dr] schedule_interval`): a `replicate` plan's interval is its replication period,
and a pass every 30 s would stretch a 60 s period by up to half of it. A plan whose
previous checkpoint still runs is looked at again after `[dr] poll_interval`.
"""

from __future__ import annotations

import datetime
import logging

from multisite.reconcilers import Key, Outcome

LOG = logging.getLogger(__name__)

KIND = "dr_schedule"


def due(interval, last_started, now):
    """True when a plan checkpointed every `interval` s, last at `last_started`, is due."""
    return wait(interval, last_started, now) == 0


def wait(interval, last_started, now):
    """Seconds until the plan is due (0: due now)."""
    if last_started is None:
        return 0
    return max(0.0, interval - (now - last_started).total_seconds())


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
    remaining = wait(interval, last, now)
    if remaining > 0:
        return Outcome.requeue_after(remaining)
    started = shared.store.start_checkpoint(key.id)
    if started:
        LOG.info("Scheduled checkpoint started: plan=%s checkpoint=%s", key.id, started)
        return Outcome.requeue_after(interval, result=started)
    # busy (the previous checkpoint still runs): the next one starts as soon as it ends
    return Outcome.requeue_after(shared.opts.poll_interval)
