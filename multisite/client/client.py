"""The Multisite client: one HTTP layer and a manager per API resource."""

from multisite.client import (
    addresses,
    dr,
    events,
    http,
    identity,
    images,
    pods,
    quota_classes,
    quotas,
    regions,
    routers,
    sync_jobs,
    sync_policies,
)


class Client:
    """Multisite (Kingbird-compatible) API client.

    ``Client(session=sess)`` finds the ``synchronization`` endpoint in the
    catalog; ``endpoint=`` bypasses it.  Without a session, ``token`` is sent
    as X-Auth-Token, and ``project_id``/``user_id``/``roles`` as identity
    headers for a server running with ``auth_strategy = noauth``.
    """

    def __init__(self, session=None, endpoint=None, token=None, project_id=None, **kwargs):
        self.http = http.HTTPClient(session=session, endpoint=endpoint, token=token,
                                    project_id=project_id, **kwargs)
        self.quotas = quotas.QuotaManager(self.http)
        self.quota_classes = quota_classes.QuotaClassManager(self.http)
        self.sync_jobs = sync_jobs.SyncJobManager(self.http)
        self.regions = regions.RegionManager(self.http)
        self.events = events.EventManager(self.http)
        self.addresses = addresses.AddressManager(self.http)
        self.sync_policies = sync_policies.SyncPolicyManager(self.http)
        self.identity = identity.IdentityManager(self.http)
        self.images = images.ImageManager(self.http)
        self.pods = pods.PodManager(self.http)
        self.routings = pods.RoutingManager(self.http)
        self.jobs = pods.JobManager(self.http)
        self.dr = dr.DrManager(self.http)
        self.routers = routers.RouterManager(self.http)

    @property
    def project_id(self):
        return self.http.project_id

    @property
    def endpoint(self):
        return self.http.endpoint
