"""An in-memory multi-region cloud with the interface of multisite.clients.Cloud."""

import collections
import threading
import time

from multisite.clients import errors, resources

NEUTRON_DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10,
                    "floatingip": 50, "security_group": 10, "security_group_rule": 100}
NOVA_DEFAULTS = {"instances": 10, "cores": 20, "ram": 51200, "metadata_items": 128,
                 "key_pairs": 100, "floating_ips": -1, "fixed_ips": -1, "security_groups": -1}
CINDER_DEFAULTS = {"volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10,
                   "backup_gigabytes": 1000}


class FakeCloud:
    """Regions hold per-project limits and usage; regions can be down or lack services."""

    def __init__(self, regions=("RegionOne", "RegionTwo", "RegionThree"), *,
                 services=("nova", "neutron", "cinder"), delay=0.0):
        self.services = {r: tuple(services) for r in regions}
        self.limits = collections.defaultdict(dict)   # (region, project) -> {name: limit}
        self.usage = collections.defaultdict(dict)    # (region, project) -> {name: used}
        self.down = set()
        self.delay = delay
        self.calls = collections.Counter()
        self.writes = []
        self.projects_list = []
        self.active = collections.Counter()           # project -> calls in flight
        self.max_active_per_project = 0
        self._lock = threading.Lock()

    # -- test helpers ------------------------------------------------------------------------
    def set_usage(self, region, project_id, **usage):
        self.usage[(region, project_id)].update(usage)

    def region_limits(self, region, project_id):
        services = self.services[region]
        out = {}
        for service, defaults in (("nova", NOVA_DEFAULTS), ("neutron", NEUTRON_DEFAULTS),
                                  ("cinder", CINDER_DEFAULTS)):
            if service in services:
                for name in resources.keys_for(service, services):
                    out[name] = defaults[name]
        out.update({k: v for k, v in self.limits[(region, project_id)].items() if k in out})
        return out

    def _enter(self, region, project_id, kind):
        with self._lock:
            self.calls[(region, kind)] += 1
            self.active[project_id] += 1
        if self.delay:
            time.sleep(self.delay)
        if region in self.down:
            self._leave(project_id)
            raise errors.RegionUnavailable(region, "connection refused")

    def _leave(self, project_id):
        with self._lock:
            self.active[project_id] -= 1

    # -- the Cloud interface -------------------------------------------------------------------
    configured = True

    def regions(self, project_id):
        return sorted(self.services)

    def projects(self):
        return list(self.projects_list)

    def read(self, region, project_id, *, parallel=True):
        self._enter(region, project_id, "read")
        try:
            limits = self.region_limits(region, project_id)
            usage = {k: v for k, v in self.usage[(region, project_id)].items()
                     if k in limits and k not in resources.PER_ITEM}
            for name in limits:
                if name not in resources.PER_ITEM:
                    usage.setdefault(name, 0)
            from multisite.clients.region import RegionQuota
            return RegionQuota(usage, limits)
        finally:
            self._leave(project_id)

    def write_limits(self, region, project_id, limits, *, parallel=True):
        self._enter(region, project_id, "write")
        try:
            services = self.services[region]
            split = resources.split(limits, services)
            with self._lock:
                for values in split.values():
                    self.limits[(region, project_id)].update(values)
                self.writes.append((region, project_id, dict(limits)))
            return len(split)
        finally:
            self._leave(project_id)
