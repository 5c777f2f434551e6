"""multisite.clients without a network: catalog parsing, credentials, the region adapter."""

import concurrent.futures
import threading

import pytest

from multisite.clients import errors, keystone, region, resources
from multisite.engine import coordination


class _Resp:
    def __init__(self, status, body):
        self.status_code = status
        self._body = body
        self.text = str(body)

    def json(self):
        if isinstance(self._body, str):
            raise ValueError("not JSON")
        return self._body


class _Transport:
    """Answers quota calls from a table; records every request."""

    def __init__(self, answers):
        self.answers = answers
        self.requests = []

    def request(self, method, url, *, region, json=None, headers=None, service=None):
        self.requests.append((method, url, json))
        answer = self.answers.get((method, url.split("?")[0]))
        if isinstance(answer, Exception):
            raise answer
        return answer or _Resp(404, {})


NOVA, CINDER, NEUTRON = "http://n/v2.1", "http://c/v3/x", "http://q"
P = "p1"


def _answers():
    return {
        ("GET", f"{NOVA}/os-quota-sets/{P}/detail"): _Resp(200, {"quota_set": {
            "cores": {"limit": 20, "in_use": 4, "reserved": 0},
            "instances": {"limit": 10, "in_use": 2, "reserved": 0},
            "ram": {"limit": 51200, "in_use": 1024, "reserved": 0},
            "key_pairs": {"limit": 100, "in_use": 0, "reserved": 0},
            "metadata_items": {"limit": 128, "in_use": 0, "reserved": 0},
            "floating_ips": {"limit": -1, "in_use": 0, "reserved": 0},
            "security_groups": {"limit": -1, "in_use": 0, "reserved": 0}}}),
        ("GET", f"{CINDER}/os-quota-sets/{P}"): _Resp(200, {"quota_set": {
            "volumes": {"limit": 10, "in_use": 1, "reserved": 1},
            "gigabytes": {"limit": 1000, "in_use": 3, "reserved": 0},
            "volumes___DEFAULT__": {"limit": -1, "in_use": 1, "reserved": 0}}}),
        ("GET", f"{NEUTRON}/v2.0/quotas/{P}/details"): _Resp(200, {"quota": {
            "network": {"limit": 100, "used": 2, "reserved": 0},
            "security_group": {"limit": 10, "used": 1, "reserved": 0},
            "subnetpool": {"limit": -1, "used": 0, "reserved": 0}}}),
        ("PUT", f"{NOVA}/os-quota-sets/{P}"): _Resp(200, {"quota_set": {}}),
        ("PUT", f"{CINDER}/os-quota-sets/{P}"): _Resp(200, {"quota_set": {}}),
        ("PUT", f"{NEUTRON}/v2.0/quotas/{P}"): _Resp(200, {"quota": {}}),
    }


def _region(answers=None, endpoints=None, pool=None):
    session = _Transport(answers or _answers())
    eps = endpoints or {"nova": NOVA, "cinder": CINDER, "neutron": NEUTRON}
    return region.Region("R", session, eps, pool=pool), session


class _Together(_Transport):
    """Every call waits until `parties` calls are in flight at once (a barrier): calls
    made one after the other break it."""

    def __init__(self, answers, parties):
        super().__init__(answers)
        self.barrier = threading.Barrier(parties, timeout=30)

    def request(self, method, url, **kwargs):
        self.barrier.wait()
        return super().request(method, url, **kwargs)


@pytest.fixture
def pool():
    with concurrent.futures.ThreadPoolExecutor(8) as executor:
        yield executor


def test_pooled_read_and_write_call_the_services_at_once(pool):
    session = _Together(_answers(), 3)
    adapter = region.Region("R", session, {"nova": NOVA, "cinder": CINDER,
                                           "neutron": NEUTRON}, pool=pool)
    sequential, _ = _region()
    assert adapter.read(P).usage == sequential.read(P).usage
    assert adapter.read(P).limits == sequential.read(P).limits
    assert adapter.write_limits(P, {"cores": 3, "volumes": 0, "floatingip": 5}) == 3
    assert len(session.requests) == 9


def test_pooled_read_raises_the_first_services_error_after_every_call(pool):
    answers = _answers()
    answers[("GET", f"{NOVA}/os-quota-sets/{P}/detail")] = _Resp(403, {})
    answers[("GET", f"{CINDER}/os-quota-sets/{P}")] = _Resp(503, {})
    adapter, session = _region(answers, pool=pool)
    with pytest.raises(errors.RegionRejected):     # nova's, as a sequential read raises
        adapter.read(P)
    assert len(session.requests) == 3


def test_read_maps_the_three_detail_apis():
    adapter, session = _region()
    quota = adapter.read(P)
    assert quota.usage == {"cores": 4, "instances": 2, "ram": 1024, "volumes": 2,
                           "gigabytes": 3, "network": 2, "security_group": 1}
    assert quota.limits["key_pairs"] == 100 and quota.limits["volumes"] == 10
    # neutron region: the nova-network keys are not this region's limits
    assert "floating_ips" not in quota.limits and "security_groups" not in quota.limits
    assert "subnetpool" not in quota.limits and "volumes___DEFAULT__" not in quota.limits
    assert len(session.requests) == 3


def test_nova_network_region_reads_nova_keys():
    adapter, _ = _region(endpoints={"nova": NOVA, "cinder": CINDER})
    quota = adapter.read(P)
    assert quota.limits["security_groups"] == -1 and "network" not in quota.limits


def test_write_splits_by_service_and_skips_unknown():
    adapter, session = _region()
    calls = adapter.write_limits(P, {"cores": 3, "volumes": 0, "floatingip": 5,
                                     "floating_ips": 9})
    assert calls == 3
    sent = {url: body for method, url, body in session.requests if method == "PUT"}
    assert sent[f"{NOVA}/os-quota-sets/{P}"] == {"quota_set": {"cores": 3}}
    assert sent[f"{CINDER}/os-quota-sets/{P}"] == {"quota_set": {"volumes": 0}}
    assert sent[f"{NEUTRON}/v2.0/quotas/{P}"] == {"quota": {"floatingip": 5}}


def test_missing_service_is_skipped():
    adapter, session = _region(endpoints={"nova": NOVA})
    assert set(adapter.read(P).limits) == {"cores", "instances", "ram", "key_pairs",
                                           "metadata_items", "floating_ips",
                                           "security_groups"}
    assert adapter.write_limits(P, {"volumes": 3}) == 0


@pytest.mark.parametrize("answer,kind", [
    (_Resp(503, {}), errors.RegionUnavailable),
    (_Resp(429, {}), errors.RegionUnavailable),
    (errors.RegionUnavailable("R", "refused"), errors.RegionUnavailable),
    (_Resp(200, "not json"), errors.RegionUnavailable),
    (_Resp(403, {}), errors.RegionRejected),
])
def test_errors_are_classified(answer, kind):
    answers = _answers()
    answers[("GET", f"{CINDER}/os-quota-sets/{P}")] = answer
    adapter, _ = _region(answers)
    with pytest.raises(kind) as raised:
        adapter.read(P)
    assert raised.value.region == "R"
    assert raised.value.temporary == (kind is errors.RegionUnavailable)


def test_catalog_regions_and_service_types():
    class Access:
        class service_catalog:  # noqa: N801 - mimics keystoneauth
            catalog = [
                {"type": "compute", "endpoints": [
                    {"interface": "public", "region_id": "A", "url": "http://a/c/"},
                    {"interface": "internal", "region_id": "B", "url": "http://b/c"}]},
                {"type": "volumev2", "endpoints": [
                    {"interface": "public", "region_id": "A", "url": "http://a/v2"}]},
                {"type": "volumev3", "endpoints": [
                    {"interface": "public", "region_id": "A", "url": "http://a/v3"}]},
                {"type": "image", "endpoints": [
                    {"interface": "public", "region": "C", "url": "http://c/i"}]},
                {"type": "object-store", "endpoints": [
                    {"interface": "public", "region": "D", "url": "http://d/s"}]},
            ]
    regions = keystone.endpoints_by_region(Access.service_catalog.catalog)
    # glance is listed for the inventory; a service nobody uses still lists its region
    assert regions == {"A": {"nova": "http://a/c", "cinder": "http://a/v3"},
                       "C": {"glance": "http://c/i"}, "D": {}}


class _Conf:
    class cache:  # noqa: N801
        auth_uri = "http://k:5000"
        identity_uri = None
        admin_username = "admin"
        admin_password = "pw"
        admin_tenant = "admin"
        admin_user_domain_name = "Default"
        admin_project_domain_name = "Default"


def _scopes(conf):
    out = []
    for plugin in keystone._auth_variants(conf):
        attrs = {**vars(plugin.auth_methods[0]), **vars(plugin)}
        scope = {k: v for k, v in attrs.items()
                 if k in ("project_name", "project_id", "user_domain_name", "user_domain_id",
                          "project_domain_name", "project_domain_id") and v}
        out.append(scope)
    return out, plugin.auth_url


def test_credentials_accept_names_and_ids():
    scopes, url = _scopes(_Conf)
    assert url == "http://k:5000/v3"
    assert scopes[0] == {"project_name": "admin", "user_domain_name": "Default",
                         "project_domain_name": "Default"}
    assert {"project_id": "admin", "user_domain_name": "Default"} in scopes

    class Ids(_Conf):
        class cache(_Conf.cache):  # noqa: N801
            admin_tenant = "d5fb57c2f5ee4885a11f4003dda367c3"
            admin_user_domain_name = "default"
    scopes, _ = _scopes(Ids)
    assert scopes[0] == {"project_id": "d5fb57c2f5ee4885a11f4003dda367c3",
                         "user_domain_id": "default"}


def test_resources_cover_the_twenty_keys():
    from multisite.conf.global_limit import DEFAULT_LIMITS

    assert set(resources.ALL) == set(DEFAULT_LIMITS) and len(resources.ALL) == 20


def test_coordination_url_sets_redis_expiry(conf):
    conf.set_override("backend_url", "redis://127.0.0.1:6379?timeout=5", group="coordination")
    conf.set_override("report_interval", 7)
    try:
        url = coordination.backend_url(conf)
    finally:
        conf.clear_override("report_interval")
    assert "lock_timeout=14" in url and "membership_timeout=14" in url and "timeout=5" in url
    conf.set_override("backend_url", "postgres://u@h/db", group="coordination")
    assert coordination.backend_url(conf).startswith("postgresql://")


def _entry(kind, *regions):
    return {"type": kind, "endpoints": [
        {"interface": "public", "region_id": r, "url": f"http://{r}/{kind}"} for r in regions]}


class _CatalogSession:
    """A keystoneauth-like session: a token catalog, /auth/catalog and OS-EP-FILTER."""

    def __init__(self):
        self.token_catalog = [_entry("compute", "A", "B")]
        self.live_catalog = [_entry("compute", "A", "B", "C")]
        self.filters = {"p-filtered": ["B"]}
        self.gets = []
        outer = self

        class Auth:
            def get_access(self, _session):
                class Access:
                    class service_catalog:  # noqa: N801
                        catalog = outer.token_catalog
                return Access

        self.auth = Auth()

    def get(self, path, *, endpoint_filter, raise_exc):
        self.gets.append(path)
        if path == "/auth/catalog":
            return _Resp(200, {"catalog": self.live_catalog})
        project = path.split("/")[3]
        eps = [{"region_id": r} for r in self.filters.get(project, [])]
        return _Resp(200, {"endpoints": eps})


def test_catalog_ttl_refresh_and_endpoint_filter():
    now = [0.0]
    session = _CatalogSession()
    catalog = keystone.Catalog(session, ttl=300, clock=lambda: now[0])
    assert sorted(catalog.regions_for("p")) == ["A", "B"]
    assert sorted(catalog.regions_for("p-filtered")) == ["B"]
    now[0] = 100
    assert sorted(catalog.regions_for("p")) == ["A", "B"]          # cached
    assert "/auth/catalog" not in session.gets
    now[0] = 400
    assert sorted(catalog.regions_for("p")) == ["A", "B", "C"]     # refreshed
    assert "/auth/catalog" in session.gets


@pytest.mark.parametrize("environ, matters", [
    ({}, False),
    ({"PATH": "/usr/bin", "HOME": "/root"}, False),
    ({"HTTPS_PROXY": "http://proxy:3128"}, True),
    ({"no_proxy": "127.0.0.1"}, True),
    ({"REQUESTS_CA_BUNDLE": "/etc/ssl/ca.pem"}, True),
])
def test_environment_lookup_only_when_it_can_change_a_call(environ, matters):
    assert keystone.environment_matters(environ) is matters


def test_ring_shares_are_even():
    """Two engines split projects within 2 % of half (the busier one sets a pass's time)."""
    import hashlib

    from tooz import hashring

    projects = [hashlib.md5(f"p{i}".encode()).hexdigest().encode() for i in range(20000)]
    for pair in (("engine-a", "engine-b"), ("3f1c0a52-9d1e", "b7aa45e0-11f2"),
                 ("host1-worker0", "host1-worker1")):
        ring = hashring.HashRing(pair, partitions=coordination.RING_PARTITIONS)
        share = sum(next(iter(ring.get_nodes(p))) == pair[0] for p in projects) / len(projects)
        assert abs(share - 0.5) < 0.02, (pair, share)
