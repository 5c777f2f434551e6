"""The security-group reconciler: canonical rules, the pure plan, and apply on a fake Neutron."""

import pytest

from multisite.reconcilers import PermanentError
from multisite.reconcilers import security_group as sg
from tests.unit.reconcilers.fake_network import FakeNeutron

R1, R2 = "RegionOne", "RegionTwo"
P = "p1"


def _rule(**kw):
    rule = {"id": kw.pop("id", "r"), "direction": "ingress", "ethertype": "IPv4",
            "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
            "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": None, "description": ""}
    rule.update(kw)
    return rule


@pytest.mark.parametrize("a,b,same", [
    (_rule(), _rule(protocol="6"), True),
    (_rule(), _rule(protocol="TCP"), True),
    (_rule(), _rule(remote_ip_prefix="10.1.2.3/8"), True),           # network form
    (_rule(remote_ip_prefix="0.0.0.0/0"), _rule(remote_ip_prefix=None), True),
    (_rule(ethertype="IPv6", remote_ip_prefix="::/0"),
     _rule(ethertype="IPv6", remote_ip_prefix=None), True),
    (_rule(ethertype="IPv6", protocol="icmp", port_range_min=None, port_range_max=None),
     _rule(ethertype="IPv6", protocol="ipv6-icmp", port_range_min=None,
           port_range_max=None), True),
    (_rule(port_range_min="22"), _rule(), True),
    (_rule(), _rule(protocol="udp"), False),
    (_rule(), _rule(port_range_max=23), False),
    (_rule(), _rule(direction="egress"), False),
    (_rule(), _rule(remote_ip_prefix="10.0.0.0/16"), False),
    (_rule(protocol=None, port_range_min=None, port_range_max=None),
     _rule(protocol="any", port_range_min=None, port_range_max=None), True),
])
def test_rule_key_is_canonical(a, b, same):
    assert (sg.rule_key(a, None) == sg.rule_key(b, None)) is same


def test_unknown_protocol_is_permanent():
    with pytest.raises(PermanentError, match="unknown protocol"):
        sg.rule_key(_rule(protocol="carrier-pigeon"), None)


def _group(gid, name, *rules, description="", stateful=True):
    return {"id": gid, "name": name, "description": description, "stateful": stateful,
            "rules": list(rules)}


SSH = _rule(id="s1")
HTTPS = _rule(id="s2", port_range_min=443, port_range_max=443, ethertype="IPv6",
              remote_ip_prefix="::/0")
FROM_APP = _rule(id="s3", protocol=None, port_range_min=None, port_range_max=None,
                 remote_ip_prefix=None, remote_group_id="src-app")
WEB = _group("src-web", "web", SSH, HTTPS, FROM_APP)
APP = _group("src-app", "app", _rule(id="s4", remote_ip_prefix=None,
                                      remote_group_id="src-web"))


def _target(gid, name, *rules, **kw):
    return _group(gid, name, *[dict(r, id="t-" + r["id"], remote_group_id={
        "src-web": "t-web", "src-app": "t-app"}.get(r["remote_group_id"])) for r in rules],
                  **kw)


T_APP = _target("t-app", "app", *APP["rules"])
T_WEB = _target("t-web", "web", SSH, HTTPS, FROM_APP)
EXTRA = _rule(id="x", port_range_min=80, port_range_max=80)


@pytest.mark.parametrize("observed,force,ours,expect", [
    ([], False, (), {"create": ["app", "web"], "add": 4}),
    ([T_APP, T_WEB], False, (), {"writes": 0}),                             # adopted
    ([T_APP, _target("t-web", "web", SSH, HTTPS, FROM_APP, EXTRA)], False, (),
     "extra rules: ingress IPv4 tcp 80-80 from 10.0.0.0/8"),
    ([T_APP, _target("t-web", "web", SSH, HTTPS, FROM_APP, EXTRA)], True, (),
     {"delete": ["t-x"]}),
    ([T_APP, _target("t-web", "web", SSH, HTTPS, FROM_APP, EXTRA)], False, ("web",),
     {"delete": ["t-x"]}),                                                  # our half-made
    ([T_APP, _target("t-web", "web", SSH, FROM_APP)], False, (),
     "missing rules: ingress IPv6 tcp 443-443 from any"),
    ([T_APP, _target("t-web", "web", SSH, FROM_APP)], False, ("web",), {"add": 1}),
    ([T_APP, _target("t-web", "web", SSH, HTTPS, FROM_APP, description="old")], False, (),
     "description differs"),
    ([T_APP, _target("t-web", "web", SSH, HTTPS, FROM_APP, description="old")], True, (),
     {"update": [("web", {"description": ""})]}),
    ([T_APP, _target("t-web", "web", dict(SSH, description="x"), HTTPS, FROM_APP)], True, (),
     {"delete": ["t-s1"], "add": 1}),                                       # replaced
    ([T_APP, T_WEB, dict(T_WEB, id="t-web2")], True, (), "2 security groups named web"),
    ([T_APP], False, (), "extra rules: ingress IPv4 tcp 22-22 from group id:t-web"),
    # the remote group must be the target's group *of that name*
    ([T_APP, _group("t-other", "other"),
      dict(T_WEB, rules=[*T_WEB["rules"][:2], dict(T_WEB["rules"][2],
                                                  remote_group_id="t-other")])],
     False, (), "from group other"),
])
def test_plan_matrix(observed, force, ours, expect):
    result = sg.plan([WEB, APP], observed, force=force, ours=set(ours))
    if isinstance(expect, str):
        assert result.conflict and expect in result.conflict, result.conflict
        assert result.writes == 0
        return
    assert result.conflict is None
    if "writes" in expect:
        assert result.writes == expect["writes"]
    if "create" in expect:
        assert [g["name"] for g in result.create] == expect["create"]
    if "add" in expect:
        assert len(result.add) == expect["add"]
    if "delete" in expect:
        assert sorted(result.delete) == expect["delete"]
    if "update" in expect:
        assert result.update == expect["update"]


DEFAULT_SRC = _group("d1", "default", _rule(id="d", remote_ip_prefix=None,
                                            remote_group_id="d1"), description="Default")


@pytest.mark.parametrize("target_rules,force,expect", [
    ([], False, {"add": 1}),                      # missing rules are added without force
    ([_rule(id="sg", remote_ip_prefix=None, remote_group_id="d2")], False, {"writes": 0}),
    ([EXTRA], False, "extra rules"),
    ([EXTRA], True, {"delete": ["x"], "add": 1}),
])
def test_default_group_is_reconciled_never_created(target_rules, force, expect):
    target = _group("d2", "default", *target_rules, description="Default security group")
    result = sg.plan([DEFAULT_SRC], [target], force=force, ours=set())
    assert not result.create
    if isinstance(expect, str):
        assert expect in result.conflict
        return
    assert result.conflict is None
    assert result.writes == expect.get("writes", result.writes)
    assert len(result.add) == expect.get("add", len(result.add))
    assert result.delete == expect.get("delete", result.delete)


def test_closure_follows_references_and_cycles():
    names = sorted(g["name"] for g in sg.closure([WEB, APP, _group("z", "lone")], APP))
    assert names == ["app", "web"]


def test_closure_refuses_unmappable_references():
    with pytest.raises(PermanentError, match="not in the project"):
        sg.closure([WEB], WEB)
    bad = _group("b", "b", _rule(remote_address_group_id="ag"))
    with pytest.raises(PermanentError, match="address group"):
        sg.closure([bad], bad)


# -- apply against the fake Neutron -------------------------------------------------------
class Regions:
    def __init__(self, neutron):
        self.neutron = neutron

    def network(self, region):
        return self.neutron.client(region)


@pytest.fixture
def neutron():
    neutron = FakeNeutron()
    web = neutron.add_group(R1, P, "web", description="web tier")
    app = neutron.add_group(R1, P, "app", egress=False)
    neutron.add_rule(R1, web["id"], direction="ingress", ethertype="IPv4", protocol="tcp",
                     port_range_min=22, port_range_max=22, remote_ip_prefix="10.0.0.0/8")
    neutron.add_rule(R1, web["id"], direction="ingress", ethertype="IPv6", protocol="tcp",
                     port_range_min=443, port_range_max=443, remote_ip_prefix="::/0")
    neutron.add_rule(R1, web["id"], direction="ingress", ethertype="IPv4",
                     remote_group_id=app["id"])
    neutron.add_rule(R1, app["id"], direction="ingress", ethertype="IPv4", protocol="tcp",
                     port_range_min=8080, port_range_max=8080, remote_group_id=web["id"])
    neutron.add_rule(R1, app["id"], direction="ingress", ethertype="IPv4",
                     remote_group_id=app["id"], description="self")
    return neutron


def _item(**kw):
    return {"resource": "web", "project_id": P, "source_region": R1, "target_region": R2,
            "force": False, "attempts": 1, "target_id": None, **kw}


def _shape(neutron, region):
    """Each group's rules as comparable tuples, remote groups by name."""
    groups = [g for g in neutron.groups[region].values() if g["project_id"] == P]
    names = {g["id"]: g["name"] for g in groups}
    return {g["name"]: sorted((sg.rule_key(r, names.get(r["remote_group_id"]))
                               for r in g["rules"]), key=str) for g in groups}


def test_apply_syncs_a_cycle_with_target_ids_then_is_a_no_op(neutron):
    recorded = []
    item = _item()
    sg.apply(item, Regions(neutron), recorded.append)
    assert recorded == ["app,web"]
    assert _shape(neutron, R2) == _shape(neutron, R1)
    web, app = neutron.named(R2, "web"), neutron.named(R2, "app")
    assert {r["remote_group_id"] for r in web["rules"]} == {None, app["id"]}
    assert {r["remote_group_id"] for r in app["rules"]} == {web["id"], app["id"]}
    assert web["description"] == "web tier"
    before = len(neutron.writes())
    sg.apply(_item(resource=neutron.named(R1, "app")["id"]), Regions(neutron), recorded.append)
    assert len(neutron.writes()) == before
    assert [c for c in neutron.calls[-2:]] == [(R1, "list security groups"),
                                              (R2, "list security groups")]


def test_apply_without_force_names_the_difference_and_writes_nothing(neutron):
    sg.apply(_item(), Regions(neutron), lambda _: None)
    neutron.add_rule(R2, neutron.named(R2, "web")["id"], direction="ingress",
                     ethertype="IPv4", protocol="udp", port_range_min=53, port_range_max=53)
    before = len(neutron.writes())
    with pytest.raises(PermanentError, match="extra rules: ingress IPv4 udp 53-53 from any"):
        sg.apply(_item(), Regions(neutron), lambda _: None)
    assert len(neutron.writes()) == before
    sg.apply(_item(force=True), Regions(neutron), lambda _: None)
    assert _shape(neutron, R2) == _shape(neutron, R1)


def test_retry_after_a_crash_adopts_its_own_half_made_groups(neutron):
    recorded = []
    client = neutron.client(R2)

    class Crashing:
        def network(self, region):
            if region != R2:
                return neutron.client(region)
            crashing = neutron.client(R2)

            def boom(*args, **kwargs):
                raise SystemExit("killed")
            crashing.create_rules = boom
            return crashing

    with pytest.raises(SystemExit):
        sg.apply(_item(), Crashing(), recorded.append)
    assert sorted(_shape(neutron, R2)) == ["app", "default", "web"]   # groups, no rules
    sg.apply(_item(attempts=2, target_id=recorded[-1]), Regions(neutron), recorded.append)
    assert _shape(neutron, R2) == _shape(neutron, R1)
    assert len(client.list_security_groups(P)) == 3                     # no duplicates


def test_default_group_rules_are_reconciled_not_duplicated(neutron):
    default = [g for g in neutron.client(R1).list_security_groups(P)
               if g["name"] == "default"][0]
    neutron.add_rule(R1, default["id"], direction="ingress", ethertype="IPv4",
                     remote_group_id=default["id"])
    for _ in range(2):
        sg.apply(_item(resource="default"), Regions(neutron), lambda _: None)
    assert _shape(neutron, R2)["default"] == _shape(neutron, R1)["default"]
    assert [g["name"] for g in neutron.groups[R2].values()].count("default") == 1
    target_default = neutron.named(R2, "default")
    assert target_default["rules"][-1]["remote_group_id"] == target_default["id"]
