"""Who may call what through the gateway: every persona against the Nova and Cinder routes
(fake Nova and Cinder pods over HTTP).

The gateway adds no privilege and enforces no role policy of its own: it forwards with the
caller's token and the pod applies its policy (a reader's write is the pod's to refuse).
What the gateway itself decides, and this matrix checks: no identity is a 401; an item of
another project (no routing in the caller's project) is the service's 404 without the
pod being asked; an admin reaches any project's item; a list holds the caller's
project's items only, all projects' for an admin's `all_tenants`."""

import uuid

import pytest
import webob

from tests.functional.gateway.test_cinder_gateway import (  # noqa: F401
    PROJECT,
    call,
    cloud,
    gateway,  # noqa: F401
)

OTHER = uuid.uuid4().hex
ADMIN = uuid.uuid4().hex
# name: (project or None, roles)
PERSONAS = {
    "member": (PROJECT, "member"),
    "reader": (PROJECT, "reader"),
    "admin": (ADMIN, "admin,member,reader"),
    "member-of-other-project": (OTHER, "member"),
    "no-identity": (None, ""),
}


@pytest.fixture
def made(gateway):  # noqa: F811
    """A server, a volume, a snapshot, a backup and a transfer of PROJECT's member."""
    found = {"server": call(gateway, "POST", "/servers", {"server": {
        "name": "vm", "imageRef": "i", "flavorRef": "f1", "availability_zone": "az1"}})}
    found["volume"] = call(gateway, "POST", "/volumes", {"volume": {
        "size": 1, "availability_zone": "az1"}})
    volume = found["volume"][1]["volume"]["id"]
    for kind, path in (("snapshot", "/snapshots"), ("backup", "/backups"),
                       ("transfer", "/os-volume-transfer")):
        found[kind] = call(gateway, "POST", path, {kind: {"volume_id": volume}})
    for kind, (resp, body) in found.items():
        assert resp.status_int == 202, (kind, body)
    return {kind: body[kind]["id"] for kind, (_, body) in found.items()}


# (route name, method, path template)
READS = [
    ("show server", "GET", "/servers/{server}"),
    ("show volume", "GET", "/volumes/{volume}"),
    ("show snapshot", "GET", "/snapshots/{snapshot}"),
    ("show backup", "GET", "/backups/{backup}"),
    ("show transfer", "GET", "/os-volume-transfer/{transfer}"),
]
LISTS = [("servers", "/servers/detail"), ("volumes", "/volumes/detail"),
         ("snapshots", "/snapshots/detail"), ("backups", "/backups/detail"),
         ("transfers", "/os-volume-transfer/detail")]


def _as(gateway, persona, method, path, body=None, query=""):  # noqa: F811
    project, roles = PERSONAS[persona]
    if project is None:
        prefix = "/compute/v2.1" if path.startswith("/servers") else f"/volume/v3/{PROJECT}"
        resp = webob.Request.blank(prefix + path + query, method=method).get_response(gateway)
        assert resp.headers["x-openstack-request-id"].startswith("req-")
        return resp, None
    return call(gateway, method, path + query, body, project=project, roles=roles)


@pytest.mark.parametrize("persona", PERSONAS)
def test_persona_matrix(gateway, made, persona):  # noqa: F811
    wrong = []
    own = persona in ("member", "reader", "admin")
    for name, method, template in READS:
        resp, _ = _as(gateway, persona, method, template.format(**made))
        want = 401 if persona == "no-identity" else 200 if own else 404
        if resp.status_int != want:
            wrong.append(f"{name}: want {want}, got {resp.status_int}")
    for key, path in LISTS:
        query = "?all_tenants=1" if persona == "admin" else ""
        resp, body = _as(gateway, persona, "GET", path, query=query)
        if persona == "no-identity":
            if resp.status_int != 401:
                wrong.append(f"list {key}: want 401, got {resp.status_int}")
            continue
        ids = [item["id"] for item in body[key]]
        kind = key[:-1]
        # the fake pods list the token's own items: the admin's all_tenants reaches every
        # pod, whose answer is the pod's; the routing table decides which pods are asked
        want = [made[kind]] if persona in ("member", "reader") else []
        if resp.status_int != 200 or ids != want:
            wrong.append(f"list {key}: want 200 {want}, got {resp.status_int} {ids}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", ["member-of-other-project", "no-identity"])
def test_writes_on_anothers_items_never_reach_the_pod(gateway, cloud, made,  # noqa: F811
                                                      persona):
    want = 401 if persona == "no-identity" else 404
    writes = [("DELETE", "/servers/{server}", None),
              ("POST", "/servers/{server}/action", {"os-stop": None}),
              ("DELETE", "/volumes/{volume}", None),
              ("POST", "/volumes/{volume}/action", {"os-extend": {"new_size": 2}}),
              ("DELETE", "/snapshots/{snapshot}", None),
              ("DELETE", "/backups/{backup}", None),
              ("POST", "/backups/{backup}/restore", {"restore": {"volume_id": made["volume"]}}),
              ("POST", "/snapshots", {"snapshot": {"volume_id": made["volume"]}}),
              ("POST", "/backups", {"backup": {"volume_id": made["volume"]}}),
              ("POST", "/os-volume-transfer", {"transfer": {"volume_id": made["volume"]}}),
              ("DELETE", "/os-volume-transfer/{transfer}", None)]
    before = {name: len(fake.requests) for name, fake in cloud.items()}
    for method, template, body in writes:
        resp, _ = _as(gateway, persona, method, template.format(**made), body)
        assert resp.status_int == want, (method, template, resp.status_int)
    assert {name: len(fake.requests) for name, fake in cloud.items()} == before


def test_the_admin_reaches_any_projects_items(gateway, cloud, made):  # noqa: F811
    resp, _ = _as(gateway, "admin", "POST", f"/volumes/{made['volume']}/action",
                  {"os-extend": {"new_size": 4}})
    assert resp.status_int == 202
    assert cloud["RegionTwo", "volumev3"].items["volumes"][made["volume"]]["size"] == 4
