"""Every endpoint of the API once, with a valid request: what the persona matrix walks.

`{caller}` is the project in a v1.0 URL (the caller's own, as the client sends);
`{target}` is the project whose limits are read or written. Class endpoints
work on the class `gold`, which `seed()` creates with the project limits.
"""

import dataclasses
import uuid

from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import address_conflicts, addresses, events, quota_classes, quotas, regions

CLASS = "gold"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: object = None
    write: bool = False
    # Only the caller's URL project matters: any reader of it may call this.
    caller_scoped: bool = False
    public: bool = False
    # Only an admin may call it (e.g. /v2 all_projects=true), read or not.
    admin_only: bool = False
    # What a non-admin of another project gets instead of a 403 (a /v2 item: 404).
    foreign: tuple = None
    # The success status (202 for what starts background work).
    ok: int = 200

    def url(self, caller, target):
        return self.path.format(caller=caller, target=target, klass=CLASS, event=EVENT_ID,
                                address=SEEDED["address"], conflict=SEEDED["conflict"],
                                rotation=ROTATION_ID)


V10 = "/v1.0/{caller}/os-quota-sets/{target}"
V11 = "/v1.1/{target}/os-quota-sets"
QCS = "/v1.0/{caller}/os-quota-class-sets/{klass}"
LIMITS = {"quota_set": {"cores": 7, "ram": 2048}}
# The target project of the persona matrix (tests/functional/test_personas.py), for bodies.
MATRIX_TARGET = str(uuid.UUID(int=1))
# The event seed() stores, the first of a fresh database.
EVENT_ID = 1
# The key rotation seed() stores (finished, so that a POST may start another).
ROTATION_ID = "00000000-0000-4000-8000-00000000feed"

ENDPOINTS = [
    Endpoint("root", "GET", "/", public=True),
    Endpoint("v10-defaults", "GET", "/v1.0/{caller}/os-quota-sets/defaults",
             caller_scoped=True),
    Endpoint("v10-show", "GET", V10),
    Endpoint("v10-update", "PUT", V10, LIMITS, write=True),
    Endpoint("v10-delete-all", "DELETE", V10, write=True),
    Endpoint("v10-delete-some", "DELETE", V10, {"quota_set": ["cores"]}, write=True),
    Endpoint("v10-detail", "GET", V10 + "/detail"),
    Endpoint("v10-sync", "PUT", V10 + "/sync", write=True),
    Endpoint("v10-sync-status", "GET", "/v1.0/{caller}/os-quota-sync-status/{target}"),
    Endpoint("v10-quota-settings-show", "GET", "/v1.0/{caller}/os-quota-settings/{target}"),
    Endpoint("v10-quota-settings-update", "PUT", "/v1.0/{caller}/os-quota-settings/{target}",
             {"quota_settings": {"quota_policy": "strict"}}, write=True),
    Endpoint("v11-show", "GET", V11),
    Endpoint("v11-update", "PUT", V11, LIMITS, write=True),
    Endpoint("v11-delete-all", "DELETE", V11, write=True),
    Endpoint("v11-delete-some", "DELETE", V11 + "?cores", write=True),
    Endpoint("v11-defaults", "GET", V11 + "/defaults"),
    Endpoint("v11-detail", "GET", V11 + "/detail"),
    Endpoint("v11-sync", "PUT", V11 + "/sync", write=True),
    Endpoint("class-show", "GET", QCS, caller_scoped=True),
    Endpoint("class-update", "PUT", QCS, {"quota_class_set": {"cores": 3}}, write=True),
    Endpoint("class-delete", "DELETE", QCS, write=True),
    # /v2: no project in the path; the token's project unless project_id= names one.
    Endpoint("v2-events-list", "GET", "/v2/events", caller_scoped=True),
    Endpoint("v2-events-list-project", "GET", "/v2/events?project_id={target}"),
    Endpoint("v2-events-list-all", "GET", "/v2/events?all_projects=true", admin_only=True),
    Endpoint("v2-events-show", "GET", "/v2/events/{event}",
             foreign=(404, "event.not_found")),
    Endpoint("v2-regions-list", "GET", "/v2/regions", caller_scoped=True),
    Endpoint("v2-regions-show", "GET", "/v2/regions/RegionOne", caller_scoped=True),
    Endpoint("v2-capacity", "GET", "/v2/capacity", admin_only=True),
    Endpoint("v2-capacity-region", "GET", "/v2/capacity/RegionOne", admin_only=True),
    Endpoint("v2-identity-nodes", "GET", "/v2/identity/nodes", admin_only=True),
    Endpoint("v2-identity-node", "GET", "/v2/identity/nodes/ks1", admin_only=True),
    Endpoint("v2-key-rotations-create", "POST", "/v2/identity/key-rotations", {},
             write=True, admin_only=True, ok=202),
    Endpoint("v2-key-rotations-list", "GET", "/v2/identity/key-rotations", admin_only=True),
    Endpoint("v2-key-rotations-show", "GET", "/v2/identity/key-rotations/{rotation}",
             admin_only=True),
    Endpoint("metrics", "GET", "/metrics", admin_only=True),
    Endpoint("v2-inventory-list", "GET", "/v2/inventory", caller_scoped=True),
    Endpoint("v2-inventory-list-project", "GET", "/v2/inventory?project_id={target}"),
    Endpoint("v2-inventory-summary", "GET", "/v2/inventory/summary?project_id={target}"),
    Endpoint("v2-addresses-list", "GET", "/v2/addresses", caller_scoped=True),
    Endpoint("v2-addresses-list-project", "GET", "/v2/addresses?project_id={target}"),
    Endpoint("v2-addresses-list-all", "GET", "/v2/addresses?all_projects=true",
             admin_only=True),
    Endpoint("v2-addresses-show", "GET", "/v2/addresses/{address}",
             foreign=(404, "address.not_found")),
    Endpoint("v2-address-conflicts-list", "GET", "/v2/address-conflicts", caller_scoped=True),
    Endpoint("v2-address-conflicts-list-project", "GET",
             "/v2/address-conflicts?project_id={target}"),
    Endpoint("v2-address-conflicts-list-all", "GET", "/v2/address-conflicts?all_projects=true",
             admin_only=True),
    Endpoint("v2-address-conflicts-show", "GET", "/v2/address-conflicts/{conflict}",
             foreign=(404, "address_conflict.not_found")),
    Endpoint("v2-address-conflicts-check", "POST", "/v2/address-conflicts/check",
             {"cidr": "10.0.0.0/24"}, caller_scoped=True),
    Endpoint("v2-address-conflicts-check-project", "POST", "/v2/address-conflicts/check",
             {"cidr": "10.0.0.0/24", "project_id": MATRIX_TARGET}),
]


def seed(conf, target):
    """Rows for the delete endpoints to delete (stored under the API's one spelling)."""
    quotas.update(conf, uuid.UUID(target).hex, {"cores": 5, "ram": 1024})
    quota_classes.update(conf, CLASS, {"cores": 1})
    events.store(conf, [{"message_id": "persona-seed", "region": "RegionOne",
                         "project_id": uuid.UUID(target).hex, "event_type": "seed.event",
                         "payload": {}}])
    assert events.get(conf, EVENT_ID)["message_id"] == "persona-seed"
    regions.save_probe(conf, "RegionOne", [{"service": "compute", "reachable": True}])
    # one configured Keystone node, and a finished rotation (a POST may start another)
    conf.set_override("node", ["ks1|RegionOne|http://127.0.0.1:9/v3|https://127.0.0.1:9"],
                      group="identity")
    with db_api.session_scope(conf) as session:
        if session.get(models.KeyRotation, ROTATION_ID) is None:
            session.add(models.KeyRotation(id=ROTATION_ID, phase="done", status="done",
                                           reason="request", nodes="{}",
                                           created_at=models.utcnow()))
    conf.set_override("enabled", True, group="metrics")   # undone by the conf fixture
    seed_addresses(conf, uuid.UUID(target).hex)


# Ids of the address index entry and the conflict seed_addresses() makes (for url()).
SEEDED = {"address": "1", "conflict": "none"}


def seed_addresses(conf, project):
    """One subnet in two regions of `project`: an index entry and a cidr conflict."""
    from multisite.engine import address_audit

    def neutron(suffix):
        return {"networks": [{"id": f"n{suffix}", "project_id": project}],
                "subnets": [{"id": f"s{suffix}", "project_id": project,
                             "network_id": f"n{suffix}", "cidr": "10.0.0.0/24"}]}

    address_audit.AddressAuditor(conf, cloud=None).apply(
        {"RegionOne": neutron(1), "RegionTwo": neutron(2)}, {})
    SEEDED["address"] = str(addresses.search(conf, project_id=project, limit=1)[0]["id"])
    SEEDED["conflict"] = address_conflicts.search(conf, project_id=project)[0]["id"]
