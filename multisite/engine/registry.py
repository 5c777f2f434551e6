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

from multisite.clients import gateway as gateway_client
from multisite.clients import gateway_network, prober, router_network
from multisite.engine import (
    address_audit,
    dr,
    event_feed,
    identity,
    images,
    policy_audit,
    quota_manager,
    sync_manager,
)
from multisite.engine import leases as work_leases
from multisite.engine.controller import Kind, Retry
from multisite.reconcilers import event_feed as feed_reconcilers
from multisite.reconcilers import (
    gateway_ports,
    gateway_routing,
    net_router,
    net_security_group,
    region_capacity,
    region_health,
)


def feed_env(conf, engine_id):
    """The event feed kinds' env: an EventFeed (EngineService passes its started one)."""
    return event_feed.EventFeed(conf)


def _when_enabled(option):
    return lambda conf: getattr(conf.health, option) if conf.health.enabled else None


KINDS = [
    quota_manager.KIND,
    sync_manager.KIND,
    # Every region of the catalog probed each [health] interval (docs/regions.md).
    Kind(name=region_health.KIND, reconciler=region_health,
         env=lambda conf, engine_id: prober.Prober(conf),
         lister=lambda env: region_health.keys(env, env.conf),
         resync_interval=_when_enabled("interval"),
         workers=lambda conf: conf.health.workers, conf_group="health"),
    Kind(name=region_capacity.KIND, reconciler=region_capacity,
         env=lambda conf, engine_id: prober.Prober(conf),
         lister=region_capacity.keys,
         resync_interval=_when_enabled("capacity_interval"),
         workers=lambda conf: max(1, conf.health.workers // 4), conf_group="health"),
    # The event feed (docs/regions.md): the engine service passes its started EventFeed
    # (the listeners) as these kinds' env.
    Kind(name=feed_reconcilers.BUS_KIND, reconciler=feed_reconcilers.BusKind,
         env=feed_env,
         lister=feed_reconcilers.bus_keys,
         resync_interval=_when_enabled("interval"),
         workers=lambda conf: 4, conf_group="notifications"),
    Kind(name=feed_reconcilers.RETENTION_KIND, reconciler=feed_reconcilers.RetentionKind,
         lister=feed_reconcilers.retention_keys,
         resync_interval=lambda conf: conf.notifications.prune_interval,
         conf_group="notifications"),
    address_audit.KIND,
    policy_audit.KIND,
    # Fernet key rotations (durable) and the identity audit (docs/identity.md).
    *identity.KINDS,
    # Image distribution: copies, rollouts (durable) and the auto audit (docs/images.md).
    *images.KINDS,
    # Interrupted gateway creates: adopt the pod's server or forget the routing
    # (docs/gateway.md).
    Kind(name=gateway_routing.KIND, reconciler=gateway_routing,
         env=lambda conf, engine_id: gateway_client.ServerJanitor(conf),
         lister=gateway_routing.keys,
         resync_interval=lambda conf: conf.gateway.adopt_interval,
         workers=lambda conf: 2, conf_group="gateway"),
    # Bottom ports of the big region follow the top's ports (docs/gateway.md).
    Kind(name=gateway_ports.KIND, reconciler=gateway_ports,
         env=lambda conf, engine_id: gateway_network.PodNetwork(conf),
         lister=gateway_ports.keys,
         resync_interval=lambda conf: conf.gateway.adopt_interval,
         workers=lambda conf: 2, conf_group="gateway"),
    # Disaster recovery: plan discovery and checkpoints, durable (docs/dr.md).
    *dr.KINDS,
    # The router jobs of /v1.0/jobs: east-west L3 between pods, durable, one item per
    # job (docs/networking.md).
    Kind(name=net_router.KIND, reconciler=net_router,
         env=lambda conf, engine_id: router_network.RouterNetwork(conf),
         leases=lambda conf, engine_id: work_leases.WorkItemLeases(
             conf, kind=net_router.KIND, engine_id=engine_id, lease=conf.network.lease,
             max_attempts=None, scan_interval=conf.network.scan_interval),
         retry=lambda conf: Retry(base=conf.network.retry_base, cap=conf.network.retry_cap,
                                  jitter=0.2, max_attempts=None),
         workers=lambda conf: conf.network.workers, conf_group="network"),
    # The seg_rule_setup jobs: the top's security groups in the pods, durable, one item
    # per project (docs/networking.md).
    Kind(name=net_security_group.KIND, reconciler=net_security_group,
         env=lambda conf, engine_id: net_security_group.Networks(conf),
         leases=lambda conf, engine_id: work_leases.WorkItemLeases(
             conf, kind=net_security_group.KIND, engine_id=engine_id,
             lease=conf.network.lease, max_attempts=None,
             scan_interval=conf.network.scan_interval),
         retry=lambda conf: Retry(base=conf.network.retry_base, cap=conf.network.retry_cap,
                                  jitter=0.2, max_attempts=None),
         workers=lambda conf: conf.network.workers, conf_group="network"),
]
