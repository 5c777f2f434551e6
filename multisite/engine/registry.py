"""The registry of background work: one Kind entry per kind, started by every engine.

Adding a kind: a reconciler module (`reconcile(key, env) -> Outcome`), one entry in
KINDS below, and its oslo.config group in multisite/conf/. Example, a kind with no rows
of its own ("probe every region every N s"): the lister names the keys, the periodic
resync queues those this engine owns on the ring, and each key is reconciled once per
pass (or sooner, if reconcile returns Outcome.requeue_after(seconds)):

    Kind(name="region_health", reconciler=health,
         env=lambda conf, engine_id: health_env.Env(conf),
         lister=lambda env: [Key("region_health", r, r) for r in env.regions()],
         resync_interval=lambda conf: conf.health.interval,
         workers=lambda conf: conf.health.workers, conf_group="health")

A kind whose items must survive an engine's death (jobs) adds
`leases=lambda conf, engine_id: leases.WorkItemLeases(conf, kind=..., engine_id=engine_id,
lease=...)` and writes its items with objects/work_items.add(); the manager's scan claims
them and RPC wake-ups (`Manager.wake`) make it claim at once.
"""

from multisite.engine import (
    address_audit,
    event_feed,
    identity,
    policy_audit,
    quota_manager,
    sync_manager,
)


def feed_env(conf, engine_id):
    """The event feed kinds' env: an EventFeed (EngineService passes its started one)."""
    return event_feed.EventFeed(conf)


def _when_enabled(option):
    return lambda conf: getattr(conf.health, option) if conf.health.enabled else None


KINDS = [
    quota_manager.KIND,
    sync_manager.KIND,
    address_audit.KIND,
    policy_audit.KIND,
    # Fernet key rotations (durable) and the identity audit (docs/identity.md).
    *identity.KINDS,
]
