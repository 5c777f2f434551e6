"""Engine service: RPC server, liveness reports, and the manager running every kind."""

import logging
import threading
import uuid

import oslo_messaging as messaging

from multisite import rpc
from multisite.engine import manager as manager_mod
from multisite.engine import policy_audit, quota_manager, registry, sync_manager
from multisite.objects import services

LOG = logging.getLogger(__name__)

BINARY = "multisite-engine"


class EngineEndpoint:
    """The RPC methods the API calls (names as Kingbird's)."""

    target = messaging.Target(version=rpc.VERSION)

    def __init__(self, manager, sync=None, *, server=None, engine=None):
        self.manager = manager
        self.sync = sync
        self.server = server
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

    def audit_sync_policies(self, ctxt, project_id):
        return policy_audit.audit_now(self.engine, project_id)


class EngineService:
    """One engine worker: serves RPC and reports its liveness every report_interval."""

    def __init__(self, conf, *, manager=None):
        self.conf = conf
        self.engine_id = str(uuid.uuid4())
        self.manager = manager or quota_manager.QuotaManager(conf, engine_id=self.engine_id)
        self.sync = sync_manager.SyncManager(conf, engine_id=self.engine_id)
        # every registered kind runs on one manager (its threads are the engine's loops)
        self.engine = manager_mod.Manager(conf, engine_id=self.engine_id, report=self._report)
        envs = {quota_manager.NAME: self.manager, sync_manager.NAME: self.sync}
        for kind in registry.KINDS:
            self.engine.add(kind, shared=envs.get(kind.name))
        self.manager.attach(self.engine)
        self.sync.attach(self.engine)
        self._stop = threading.Event()
        self._server = None

    def start(self):
        transport = rpc.get_transport(self.conf)
        target = messaging.Target(topic=rpc.TOPIC, server=f"{self.conf.host}.{self.engine_id}")
        endpoint = EngineEndpoint(self.manager, self.sync, server=target.server,
                                  engine=self.engine)
        self._server = messaging.get_rpc_server(
            transport, target, [endpoint], executor="threading",
            serializer=rpc.ContextSerializer())
        self._server.start()
        self._report()
        self.engine.start()
        self.manager.start()
        LOG.info("Engine %s started on host %s (transport %s)", self.engine_id,
                 self.conf.host, _safe_url(self.conf.transport_url))

    def _report(self):
        try:
            services.report(self.conf, service_id=self.engine_id, host=self.conf.host,
                            binary=BINARY, topic=rpc.TOPIC)
        except Exception:
            LOG.exception("Engine %s could not report its liveness", self.engine_id)

    def stop(self, graceful=True):
        self._stop.set()
        self.engine.stop()
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


def _safe_url(url):
    if not url:
        return "(default)"
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"
