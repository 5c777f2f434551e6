"""One region's Nova, Cinder and Neutron quota APIs (usage, limits, limit updates)."""

import logging
import threading

from multisite.clients import errors, resources

LOG = logging.getLogger(__name__)

# Nova's quota detail at the base microversion still lists the nova-network keys, which
# matter only on a region without Neutron.
NOVA_HEADERS = {"OpenStack-API-Version": "compute 2.1", "X-OpenStack-Nova-API-Version": "2.1"}


class RegionQuota:
    """What one read of a region returned: countable usage and the current limits."""

    __slots__ = ("usage", "limits")

    def __init__(self, usage, limits):
        self.usage = usage
        self.limits = limits

    def __repr__(self):
        return f"RegionQuota(usage={self.usage!r}, limits={self.limits!r})"


class Region:
    """Quota calls to one region through the shared transport (clients.http).

    `endpoints` is {service: url} from the catalog; a service missing there is skipped,
    and so are its resources. `gate` bounds the concurrent calls to this region. With a
    `pool` (an executor), the services of one read or write are called in parallel: a
    read costs one region round trip, not one per service.
    """

    def __init__(self, name, http, endpoints, *, gate=None, counter=None, pool=None):
        self.name = name
        self.http = http
        self.endpoints = dict(endpoints)
        self.services = tuple(s for s in (resources.NOVA, resources.NEUTRON, resources.CINDER)
                              if s in self.endpoints)
        self.gate = gate or threading.BoundedSemaphore(8)
        self.counter = counter
        self.pool = pool

    def _each(self, calls, parallel=True):
        """Run [(service, fn)]: results in order. Every call finishes before the first
        failure (in service order) is raised, as a sequential loop would raise it.
        `parallel=False` runs them one after another in this thread: a periodic pass,
        already as concurrent as the region gates allow, would only pay the hand-offs."""
        if self.pool is None or len(calls) < 2 or not parallel:
            return [fn() for _service, fn in calls]
        futures = [self.pool.submit(fn) for _service, fn in calls]
        results, first = [], None
        for future in futures:
            try:
                results.append(future.result())
            except Exception as exc:
                first = first or exc
        if first is not None:
            raise first
        return results

    # -- the three services' URLs and payloads -----------------------------------------
    def _url(self, service, project_id, *, detail):
        base = self.endpoints[service]
        if service == resources.NOVA:
            return f"{base}/os-quota-sets/{project_id}" + ("/detail" if detail else "")
        if service == resources.CINDER:
            return f"{base}/os-quota-sets/{project_id}" + ("?usage=True" if detail else "")
        prefix = "" if base.endswith("/v2.0") else "/v2.0"
        return f"{base}{prefix}/quotas/{project_id}" + ("/details" if detail else "")

    def _call(self, method, url, *, service, json=None):
        headers = NOVA_HEADERS if service == resources.NOVA else None
        with self.gate:
            if self.counter is not None:
                self.counter(self.name)
            resp = self.http.request(method, url, region=self.name, json=json,
                                     headers=headers, service=service)
        status = resp.status_code
        if status >= 500 or status == 429:
            raise errors.RegionUnavailable(
                self.name, f"{service} {method} answered {status}", status=status)
        if status >= 400:
            raise errors.RegionRejected(
                self.name, f"{service} {method} answered {status}: {resp.text[:200]}",
                status=status)
        try:
            return resp.json()
        except ValueError as exc:
            raise errors.RegionUnavailable(
                self.name, f"{service} {method}: body is not JSON") from exc

    # -- the adapter's interface ---------------------------------------------------------
    def read(self, project_id, *, parallel=True):
        """RegionQuota: usage of the countable resources and every current limit."""
        usage, limits = {}, {}
        bodies = self._each([
            (service, lambda s=service: self._call("GET", self._url(s, project_id, detail=True),
                                                   service=s))
            for service in self.services], parallel)
        for service, body in zip(self.services, bodies, strict=True):
            section = body.get("quota" if service == resources.NEUTRON else "quota_set", {})
            for name in resources.keys_for(service, self.services):
                entry = section.get(name)
                if not isinstance(entry, dict):
                    continue
                limits[name] = int(entry.get("limit", -1))
                if name not in resources.PER_ITEM:
                    used = entry.get("used" if service == resources.NEUTRON else "in_use", 0)
                    usage[name] = int(used or 0) + int(entry.get("reserved", 0) or 0)
        return RegionQuota(usage, limits)

    def read_usage(self, project_id):
        return self.read(project_id).usage

    def read_limits(self, project_id):
        return self.read(project_id).limits

    def write_limits(self, project_id, limits, *, parallel=True):
        """Write {resource: value}, one PUT per service; returns the calls made."""
        def put(service, values):
            key = "quota" if service == resources.NEUTRON else "quota_set"
            return self._call("PUT", self._url(service, project_id, detail=False),
                              service=service, json={key: values})

        calls = [(service, lambda s=service, v=values: put(s, v))
                 for service, values in resources.split(limits, self.services).items()]
        self._each(calls, parallel)
        return len(calls)
