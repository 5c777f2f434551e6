"""The engine's RPC interface as seen by the API."""

import threading

import oslo_messaging as messaging

from multisite import exception, rpc

_CLIENT = None
_LOCK = threading.Lock()


class EngineClient:
    def __init__(self, conf):
        target = messaging.Target(topic=rpc.TOPIC, version=rpc.VERSION)
        self._client = messaging.get_rpc_client(
            rpc.get_transport(conf), target, serializer=rpc.ContextSerializer())

    def get_total_usage_for_tenant(self, ctxt, project_id):
        try:
            return self._client.call(ctxt, "get_total_usage_for_tenant", project_id=project_id)
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while requesting usage: {exc.value}") from exc

    def quota_sync_for_project(self, ctxt, project_id):
        self._client.cast(ctxt, "quota_sync_for_project", project_id=project_id)

    def sync_job_created(self, ctxt, job_id, *, server=None, items=None):
        """Wake an engine (`server`, else any): a durable job is waiting (rows are the truth).

        `items`: the rows the API wrote claimed by that engine (handoff), to start at once.
        """
        client = self._client.prepare(server=server) if server else self._client
        kwargs = {"items": items} if items else {}
        client.cast(ctxt, "sync_job_created", job_id=job_id, **kwargs)

    def validate_sync_resources(self, ctxt, entries, *, project_id, user_id, job_id=None):
        """Ask an engine whether the regions exist and the sources hold the resources.

        `job_id`: the id the job will get; the engine keeps what it read for the job's rows
        and answers its own `server` name so that the API can wake that very engine.
        """
        kwargs = {"job_id": job_id} if job_id is not None else {}
        try:
            return self._client.call(ctxt, "validate_sync_resources", entries=entries,
                                     project_id=project_id, user_id=user_id, **kwargs)
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while validating the sync job: "
                                        f"{exc.value}") from exc

    def get_inventory(self, ctxt, project_id, *, user_id=None, refresh=False):
        """{"items", "regions", "unreachable_regions", "errors", "read_at", "age"}."""
        try:
            return self._client.call(ctxt, "get_inventory", project_id=project_id,
                                     user_id=user_id, refresh=refresh)
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while reading the inventory: "
                                        f"{exc.value}") from exc


    def audit_sync_policies(self, ctxt, project_id, *, timeout=60):
        """Audit (and repair, in enforce) every policy of a project now; waits for it."""
        try:
            return self._client.prepare(timeout=timeout).call(
                ctxt, "audit_sync_policies", project_id=project_id)
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while auditing: {exc.value}") from exc

    def image_work_created(self, ctxt):
        """Wake an engine's scan: an image copy or rollout is waiting (rows are the truth)."""
        self._client.cast(ctxt, "image_work_created")

    def known_regions(self, ctxt):
        """{"regions": [names in Keystone's catalog], "error": None or why unreadable}."""
        try:
            return self._client.call(ctxt, "known_regions")
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while reading the catalog: "
                                        f"{exc.value}") from exc


    def router_topology(self, ctxt, router_id, *, project_id, timeout=60):
        """A top router's bottom routers in every pod, read live, with their drift."""
        try:
            return self._client.prepare(timeout=timeout).call(
                ctxt, "router_topology", router_id=router_id, project_id=project_id)
        except messaging.MessagingTimeout as exc:
            raise exception.EngineUnavailable() from exc
        except messaging.RemoteError as exc:
            raise exception.EngineError(f"Error while reading the topology: "
                                        f"{exc.value}") from exc


def get_client(conf=None):
    global _CLIENT
    if conf is None:
        from multisite.conf import CONF as conf
    with _LOCK:
        if _CLIENT is None:
            _CLIENT = EngineClient(conf)
    return _CLIENT


def reset():
    global _CLIENT
    with _LOCK:
        _CLIENT = None
