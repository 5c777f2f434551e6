"""The storage capacity read never sends get_pools to a Cinder with no scheduler up.

Cinder answers get_pools through an RPC call to cinder-scheduler; with none up the call
holds an API worker of the region until Cinder's RPC timeout (60 s), long after our own
timeout gave up, and the region's other callers (quota reads) waited behind it.
"""

import pytest

from multisite.clients import capacity, errors

URL = "http://cinder/v3/admin"


class _Resp:
    def __init__(self, body):
        self.status_code, self._body = 200, body

    def json(self):
        return self._body


class _Transport:
    def __init__(self, services):
        self.services = services
        self.urls = []

    def request(self, method, url, *, region, json=None, headers=None, service=None):
        self.urls.append(url)
        if "/os-services" in url:
            return _Resp({"services": self.services})
        return _Resp({"pools": [{"name": "p", "capabilities": {
            "total_capacity_gb": 100, "free_capacity_gb": 40}}]})


@pytest.mark.parametrize("services", [
    [],
    [{"binary": "cinder-scheduler", "state": "down", "status": "enabled"}],
    [{"binary": "cinder-scheduler", "state": "up", "status": "disabled"}],
])
def test_no_scheduler_up_no_get_pools(services):
    transport = _Transport(services)
    with pytest.raises(errors.RegionUnavailable, match="no cinder-scheduler is up"):
        capacity.volume(transport, "RegionOne", URL)
    assert transport.urls == [URL + "/os-services?binary=cinder-scheduler"]


def test_a_scheduler_up_pools_are_read():
    transport = _Transport([{"binary": "cinder-scheduler", "state": "up",
                             "status": "enabled"}])
    assert capacity.volume(transport, "RegionOne", URL) == {
        "pools": 1, "pools_unknown": 0, "total_gb": 100.0, "free_gb": 40.0,
        "used_gb": 60.0}
    assert transport.urls[-1] == URL + "/scheduler-stats/get_pools?detail=true"
