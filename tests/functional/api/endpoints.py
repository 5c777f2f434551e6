"""Every endpoint of the API once, with a valid request: what the persona matrix walks.

`{caller}` is the project in a v1.0 URL (the caller's own, as the client sends);
`{target}` is the project whose limits are read or written. Class endpoints
work on the class `gold`, which `seed()` creates with the project limits.
"""

import dataclasses
import uuid

from multisite.objects import events, quota_classes, quotas, regions

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

    def url(self, caller, target):
        return self.path.format(caller=caller, target=target, klass=CLASS, event=EVENT_ID)


V10 = "/v1.0/{caller}/os-quota-sets/{target}"
V11 = "/v1.1/{target}/os-quota-sets"
QCS = "/v1.0/{caller}/os-quota-class-sets/{klass}"
LIMITS = {"quota_set": {"cores": 7, "ram": 2048}}
# The event seed() stores, the first of a fresh database.
EVENT_ID = 1

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
    Endpoint("metrics", "GET", "/metrics", admin_only=True),
]


def seed(conf, target):
    """Rows for the delete endpoints to delete."""
    quotas.update(conf, target, {"cores": 5, "ram": 1024})
    quota_classes.update(conf, CLASS, {"cores": 1})
    events.store(conf, [{"message_id": "persona-seed", "region": "RegionOne",
                         "project_id": uuid.UUID(target).hex, "event_type": "seed.event",
                         "payload": {}}])
    assert events.get(conf, EVENT_ID)["message_id"] == "persona-seed"
    regions.save_probe(conf, "RegionOne", [{"service": "compute", "reachable": True}])
    conf.set_override("enabled", True, group="metrics")   # undone by the conf fixture
