"""Engine service: RPC server, liveness reports, and the manager running every kind."""

import logging
import threading
import time
import uuid

import oslo_messaging as messaging

from multisite import clients, metrics, rpc
from multisite.engine import (
    event_feed,
    images,
    inventory,
    net_topology,
    policy_audit,
    quota_manager,
    registry,
    sync_manager,
)
from multisite.engine import manager as manager_mod
from multisite.objects import services
from multisite.reconcilers import address_audit as address_audit_kind

LOG = logging.getLogger(__name__)

BINARY = "multisite-engine"


class EngineEndpoint:
    """The RPC methods the API calls (names as Kingbird's)."""

    target = messaging.Target(version=rpc.VERSION)

    def __init__(self, manager, sync=None, *, server=None, inventory=None, engine=None):
        self.manager = manager
        self.sync = sync
        self.server = server
        self.inventory = inventory
        self.engine = engine

    def get_total_usage_for_tenant(self, ctxt, project_id):
        return self.manager.get_total_usage_for_tenant(ctxt, project_id)

    def quota_sync_for_project(self, ctxt, project_id):
        self.manager.request_sync(project_id)

    def sync_job_created(self, ctxt, job_id, items=None):
        self.sync.wake(job_id, items=items)

    def validate_sync_resources(self, ctxt, entries, project_id, user_id, job_id=None):
        result = self.sync.validate_sync_resources(ctxt, entries, project_id=project_id,
                                                   user_id=user_id, job_id=job_id)
        # the API hands the job's rows to this engine: it holds what validation read
        return dict(result, server=self.server, engine_id=self.sync.engine_id)

    def get_inventory(self, ctxt, project_id, user_id=None, refresh=False):
        """A project's resources in every region (cached; see engine.inventory)."""
        return self.inventory.read(project_id, user_id=user_id, refresh=refresh)

    def audit_sync_policies(self, ctxt, project_id):
        return policy_audit.audit_now(self.engine, project_id)

    def image_work_created(self, ctxt):
        """A copy or rollout was recorded (or promoted, aborted): claim it now."""
        self.engine.wake()

    def known_regions(self, ctxt):
        """The regions of Keystone's catalog (pods must be among them)."""
        return self.sync.known_regions()

    def router_topology(self, ctxt, router_id, project_id):
        """A top router in every pod, read live, with its drift (engine/net_topology)."""
        return net_topology.read(self.sync.conf, router_id, project_id)


class _KindMetrics(manager_mod.controller_mod.Metrics):
    """The engine mechanism's metrics hook, into this process's Prometheus counters."""

    def outcome(self, kind, status, seconds):
        metrics.reconciled(kind, status, seconds)


class EngineService:
    """One engine worker: serves RPC and reports its liveness every report_interval."""

    def __init__(self, conf, *, manager=None, worker=0):
        self.conf = conf
        self.worker = worker
        self.engine_id = str(uuid.uuid4())
        self.manager = manager or quota_manager.QuotaManager(conf, engine_id=self.engine_id)
        self.sync = sync_manager.SyncManager(conf, engine_id=self.engine_id)
        # the event feed's listeners, shared by the feed kinds (started with the engine)
        self.feed = event_feed.EventFeed(conf, metrics=metrics)
        # every registered kind runs on one manager (its threads are the engine's loops)
        self.engine = manager_mod.Manager(conf, engine_id=self.engine_id, report=self._report,
                                          metrics=_KindMetrics())
        envs = {quota_manager.NAME: self.manager, sync_manager.NAME: self.sync}
        for kind in registry.KINDS:
            shared = self.feed if kind.env is registry.feed_env else envs.get(kind.name)
            self.engine.add(kind, shared=shared)
        self.manager.attach(self.engine)
        self.sync.attach(self.engine)
        # notifications wake the kinds they concern (docs/addresses.md: index freshness)
        self.feed.subscribe(self._notified)
        images.attach(self.engine, self.feed)
        self._stop = threading.Event()
        self._server = None
        self._metrics_server = None

    def start(self):
        transport = rpc.get_transport(self.conf)
        target = messaging.Target(topic=rpc.TOPIC, server=f"{self.conf.host}.{self.engine_id}")
        cloud = getattr(self.manager, "cloud", None) or clients.get_cloud(self.conf)
        threading.Thread(target=warm_up, args=(cloud,), name="engine-warm-up",
                         daemon=True).start()
        reader = inventory.InventoryReader(self.conf, cloud)
        endpoint = EngineEndpoint(self.manager, self.sync, server=target.server,
                                  inventory=reader, engine=self.engine)
        self._server = messaging.get_rpc_server(
            transport, target, [endpoint], executor="threading",
            serializer=rpc.ContextSerializer())
        self._server.start()
        self._report()
        self._metrics_server = metrics.serve(self.conf, worker=self.worker)
        self.feed.start()
        self.engine.start()
        self.manager.start()
        LOG.info("Engine %s started on host %s (transport %s)", self.engine_id,
                 self.conf.host, _safe_url(self.conf.transport_url))

    def _notified(self, region, found):
        """A region's stored notifications: wake the address index's key of that region."""
        if not self.conf.addresses.audit_enable:
            return
        for key in {address_audit_kind.key_for(e.get("event_type"), region) for e in found}:
            if key is not None:
                self.engine.notify(key)

    def _report(self):
        try:
            services.report(self.conf, service_id=self.engine_id, host=self.conf.host,
                            binary=BINARY, topic=rpc.TOPIC)
        except Exception:
            LOG.exception("Engine %s could not report its liveness", self.engine_id)

    def stop(self, graceful=True):
        self._stop.set()
        self.engine.stop()
        self.feed.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
        self.manager.stop()
        if self._server is not None:
            self._server.stop()
            if graceful:
                self._server.wait()
        try:
            services.remove(self.conf, self.engine_id)
        except Exception:
            LOG.exception("Engine %s could not deregister", self.engine_id)
        LOG.info("Engine %s stopped", self.engine_id)

    def wait(self):
        self._stop.wait()


def warm_up(cloud):
    """Fetch the service token and the catalog now, not on the first request (a cold
    quota detail took 4.8-8.8 s): one attempt; a failure is retried by that request."""
    try:
        if not cloud.configured:
            return
        started = time.monotonic()
        regions = cloud.catalog.all_regions()
        for name in regions:
            cloud.region(name)
        LOG.info("Service token and catalog ready: regions=%d seconds=%.3f", len(regions),
                 time.monotonic() - started)
    except Exception as exc:
        LOG.warning("Service token and catalog not fetched at start-up (the first request "
                    "will try again): %s", exc)


def _safe_url(url):
    if not url:
        return "(default)"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
