"""The health kinds' client: catalog endpoints, concurrent probes and capacity reads."""

import concurrent.futures

from multisite import clients
from multisite.clients import capacity, health, http


class Prober:
    """A region's services probed (or its capacity read) all at once, on one shared pool
    of [health] call_concurrency threads, each call bounded by [health] timeout."""

    def __init__(self, conf, *, cloud=None, transport=None, catalog=None):
        self.conf = conf
        self.cloud = cloud or clients.Cloud(conf)
        self._catalog = catalog
        self._transport = transport
        self._parsed = (None, {})      # (the raw catalog object, its endpoints)
        self.pool = concurrent.futures.ThreadPoolExecutor(
            conf.health.call_concurrency, thread_name_prefix="health-call")

    @property
    def transport(self):
        if self._transport is None:
            # a connection per service probed at once (they often share a host)
            self._transport = http.Transport(
                self.cloud.session, maxsize=len(health.SERVICES),
                timeout=self.conf.health.timeout,
                user_agent="multisite-health")
        return self._transport

    def endpoints(self):
        """{region: {service: url}}; {} when no Keystone is configured."""
        if self._catalog is not None:
            return health.endpoints(self._catalog())
        if not self.cloud.configured:
            return {}
        raw = self.cloud.catalog.raw()
        held, parsed = self._parsed
        if held is not raw:          # parsed once per catalog fetch, not per region
            parsed = health.endpoints(raw)
            self._parsed = (raw, parsed)
        return parsed

    def probe_region(self, region, services):
        """{service: probe result} for {service: url}, all probed at once (the last one
        in the caller's thread: one hand-off fewer per region)."""
        if not services:
            return {}
        transport = self.transport
        *others, (last, last_url) = services.items()
        futures = {s: self.pool.submit(health.probe, transport, region, s, url)
                   for s, url in others}
        here = health.probe(transport, region, last, last_url)
        return {**{s: f.result() for s, f in futures.items()}, last: here}

    def read_capacity(self, region, services):
        """{kind: (figures or None, error or None)} of the kinds the region has."""
        transport = self.transport
        futures = {kind: self.pool.submit(
            capacity.read, transport, region, kind, services[kind],
            max_networks=self.conf.health.capacity_max_networks)
            for kind in capacity.KINDS if kind in services}
        return {kind: f.result() for kind, f in futures.items()}

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)
