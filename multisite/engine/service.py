"""Engine service: RPC server, liveness reports, periodic work."""

import logging
import threading
import uuid

import oslo_messaging as messaging

from multisite import metrics, rpc
from multisite.engine import event_feed, quota_manager, registry, sync_manager
from multisite.engine import manager as manager_mod
from multisite.objects import services

LOG = logging.getLogger(__name__)

BINARY = "multisite-engine"


class EngineEndpoint:
    """The RPC methods the API calls (names as Kingbird's)."""

    target = messaging.Target(version=rpc.VERSION)

    def __init__(self, manager, sync=None, *, server=None):
        self.manager = manager
        self.sync = sync
        self.server = server

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
        self._stop = threading.Event()
        self._threads = []
        self._server = None
        self.kinds = None
        self.feed = None

    def start(self):
        transport = rpc.get_transport(self.conf)
        target = messaging.Target(topic=rpc.TOPIC, server=f"{self.conf.host}.{self.engine_id}")
        endpoint = EngineEndpoint(self.manager, self.sync, server=target.server)
        self._server = messaging.get_rpc_server(
            transport, target, [endpoint], executor="threading",
            serializer=rpc.ContextSerializer())
        self._server.start()
        self._report()
        self._spawn(self._report_loop, "liveness")
        self.manager.start()
        self.sync.start()
        self._start_kinds()
        LOG.info("Engine %s started on host %s (transport %s)", self.engine_id,
                 self.conf.host, _safe_url(self.conf.transport_url))

    def _start_kinds(self):
        """The engine mechanism (engine/manager.py) with every kind of the registry."""
        if not registry.KINDS:
            return
        self._metrics_server = metrics.serve(self.conf, worker=self.worker)
        self.feed = event_feed.EventFeed(self.conf, metrics=metrics)
        self.feed.start()
        self.kinds = manager_mod.Manager(
            self.conf, engine_id=self.engine_id, metrics=_KindMetrics(),
            coordinator=getattr(self.manager, "coordinator", None))
        for kind in registry.KINDS:
            self.kinds.add(kind, shared=self.feed if kind.env is registry.feed_env else None)
        self.kinds.start()

    def _spawn(self, target, name):
        thread = threading.Thread(target=target, name=f"engine-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _report(self):
        try:
            services.report(self.conf, service_id=self.engine_id, host=self.conf.host,
                            binary=BINARY, topic=rpc.TOPIC)
        except Exception:
            LOG.exception("Engine %s could not report its liveness", self.engine_id)

    def _report_loop(self):
        while not self._stop.wait(self.conf.report_interval):
            self._report()

    def stop(self, graceful=True):
        self._stop.set()
        if self.kinds is not None:
            self.kinds.stop()
            self.feed.stop()
            if self._metrics_server is not None:
                self._metrics_server.shutdown()
        self.manager.stop()
        self.sync.stop()
        if self._server is not None:
            self._server.stop()
            if graceful:
                self._server.wait()
        for thread in self._threads:
            thread.join(timeout=5)
        try:
            services.remove(self.conf, self.engine_id)
        except Exception:
            LOG.exception("Engine %s could not deregister", self.engine_id)
        LOG.info("Engine %s stopped", self.engine_id)

    def wait(self):
        self._stop.wait()


def _safe_url(url):
    if not url:
        return "(default)"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
