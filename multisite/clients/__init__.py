"""The only package that talks to OpenStack: Keystone catalog and per-region adapters.

`Cloud` is what the engine uses; unit tests give the engine an in-memory cloud with
the same methods (tests/unit/engine/fake_cloud.py).
"""

import collections
import concurrent.futures
import threading

from multisite.clients import errors, http, keystone, region

RegionError = errors.RegionError
RegionUnavailable = errors.RegionUnavailable
RegionRejected = errors.RegionRejected
ServiceCredentialsError = errors.ServiceCredentialsError


class Cloud:
    """Regions and projects from Keystone; quota reads and writes per region.

    One keystoneauth session (service credentials from [cache], token reused until it
    expires) is shared by every region. Calls to one region are bounded by
    [batch] region_concurrency.
    """

    def __init__(self, conf, *, session=None):
        self.conf = conf
        self._session = session
        self._http = None
        self._lock = threading.Lock()
        self._catalog = None
        self._regions = {}
        self._gates = {}
        self._pool = None
        self.calls = collections.Counter()

    def _count(self, name):
        with self._lock:
            self.calls[name] += 1

    @property
    def session(self):
        with self._lock:
            if self._session is None:
                # one service session (and token) per process, shared by every kind
                pool = max(32, self.conf.batch.region_concurrency * 2)
                self._session = keystone.shared_session(self.conf, pool_size=pool)
            return self._session

    @property
    def transport(self):
        """The quota calls' HTTP transport (clients.http), with the service session."""
        session = self.session
        with self._lock:
            if self._http is None:
                self._http = http.Transport(
                    session, maxsize=max(10, self.conf.batch.region_concurrency * 2),
                    timeout=self.conf.cache.region_timeout)
            return self._http

    @property
    def catalog(self):
        session, transport = self.session, self.transport
        with self._lock:
            if self._catalog is None:
                self._catalog = keystone.Catalog(session, ttl=self.conf.cache.catalog_ttl,
                                                 http=transport)
            return self._catalog

    @property
    def configured(self):
        """False when [cache] names no Keystone: a deployment with no regions yet."""
        return bool(self.conf.cache.auth_uri or self.conf.cache.identity_uri)

    def regions(self, project_id):
        """Names of the project's regions (OS-EP-FILTER, else every public region)."""
        if not self.configured:
            return []
        return sorted(self.catalog.regions_for(project_id))

    def projects(self):
        """Ids of every enabled Keystone project."""
        if not self.configured:
            return []
        return self.catalog.projects()

    def region(self, name):
        endpoints = self.catalog.all_regions().get(name)   # session and transport exist now
        if endpoints is None:
            raise errors.RegionRejected(name, "region is no longer in the catalog")
        with self._lock:
            gate = self._gates.get(name)
            if gate is None:
                gate = self._gates[name] = threading.BoundedSemaphore(
                    self.conf.batch.region_concurrency)
            if self._pool is None:
                # a read or write's services in parallel; the region gates bound the calls
                self._pool = concurrent.futures.ThreadPoolExecutor(
                    min(max(32, self.conf.batch.region_concurrency * 3 * 8), 512),
                    thread_name_prefix="region-call")
            adapter = self._regions.get(name)
            if adapter is None or adapter.endpoints != endpoints:
                adapter = self._regions[name] = region.Region(
                    name, self._http, endpoints, gate=gate, counter=self._count,
                    pool=self._pool)
            return adapter

    def read(self, region_name, project_id, *, parallel=True):
        return self.region(region_name).read(project_id, parallel=parallel)

    def write_limits(self, region_name, project_id, limits, *, parallel=True):
        return self.region(region_name).write_limits(project_id, limits, parallel=parallel)


def get_cloud(conf):
    return Cloud(conf)
