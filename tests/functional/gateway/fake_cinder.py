"""A small Cinder v3 over real HTTP (the fake Nova's server): volumes, snapshots, backups
(metadata from microversion 3.43, restore) and transfers (accept by another project) with
limit/marker pages, extend, metadata, zones, types, a version document."""

import datetime
import itertools
import json
import re
import uuid

import webob

from tests.functional.gateway.fake_nova import FakeNova

_CLOCK = itertools.count()


def _now():
    return (datetime.datetime(2026, 1, 1) + datetime.timedelta(seconds=next(_CLOCK))
            ).strftime("%Y-%m-%dT%H:%M:%S.000000")


class FakeCinder(FakeNova):
    def __init__(self, name):
        super().__init__(name)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v3"
        self.items = {"volumes": {}, "snapshots": {}, "backups": {}, "transfers": {}}
        self.restored = []   # (backup, volume) of each restore
        self.created = []    # (type, microversion header) of each create

    def _link(self, collection, item_id, project):
        return [{"rel": "self", "href": f"{self.url}/{project}/{collection}/{item_id}"}]

    def route(self, req):
        path = req.path_info[len("/v3"):]
        token = req.headers.get("X-Auth-Token")
        if path in ("", "/"):
            return self._json({"versions": [{"id": "v3.0", "status": "CURRENT",
                                             "version": "3.70", "min_version": "3.0",
                                             "links": [{"rel": "self",
                                                        "href": self.url + "/"}]}]})
        found = re.match(r"^/([^/]+)(/.*)$", path)
        project, rest = found.groups()
        if rest == "/types":
            return self._json({"volume_types": [{"id": "t1", "name": "__DEFAULT__"}]})
        if rest == "/os-availability-zone":
            return self._json({"availabilityZoneInfo": [{"zoneName": "nova",
                                                         "zoneState": {"available": True}}]})
        found = re.match(r"^/(volumes|snapshots|backups|os-volume-transfer|volume-transfers)"
                         r"(?:/([^/]+))?(/action|/restore|/accept|/metadata)?$", rest)
        if not found:
            return self._json({"itemNotFound": {"code": 404, "message": rest}}, 404)
        collection, item_id, action = found.groups()
        key = "transfer" if "transfer" in collection else collection[:-1]
        items = self.items[key + "s"]
        if item_id is None and req.method == "POST":
            return self._create(req, key, project, token)
        if item_id is None or item_id == "detail":
            return self._list(req, key, token)
        item = items.get(item_id)
        if item is None:
            return self._json({"itemNotFound": {"code": 404, "message": "not found"}}, 404)
        if action == "/accept":
            return self._accept(req, item, project, token)
        if action == "/restore":
            target = json.loads(req.body)["restore"]["volume_id"]
            if target not in self.items["volumes"]:
                return self._json({"itemNotFound": {"code": 404, "message": "no volume"}}, 404)
            self.restored.append((item_id, target))
            return self._json({"restore": {"backup_id": item_id, "volume_id": target,
                                           "volume_name": None}}, 202)
        if action == "/metadata":
            item["metadata"].update(json.loads(req.body)["metadata"])
            return self._json({"metadata": item["metadata"]})
        if action:
            extend = json.loads(req.body)["os-extend"]
            item["size"] = extend["new_size"]
            return webob.Response(status=202)
        if req.method == "DELETE":
            del items[item_id]
            return webob.Response(status=202)
        return self._json({key: item})

    def _microversion(self, req):
        text = req.headers.get("OpenStack-API-Version", "volume 3.0").split()[-1]
        return tuple(int(n) for n in text.split("."))

    def _create(self, req, key, project, token):
        spec = json.loads(req.body)[key]
        self.created.append((key, req.headers.get("OpenStack-API-Version")))
        if key == "backup" and "metadata" in spec and self._microversion(req) < (3, 43):
            return self._json({"badRequest": {"code": 400, "message": "Additional properties "
                                              "are not allowed ('metadata')"}}, 400)
        if key == "transfer" and "metadata" in spec:
            return self._json({"badRequest": {"code": 400, "message": "metadata"}}, 400)
        if key != "volume" and spec["volume_id"] not in self.items["volumes"]:
            return self._json({"itemNotFound": {"code": 404, "message": "no volume"}}, 404)
        new_id = str(uuid.uuid4())
        collection = "os-volume-transfer" if key == "transfer" else key + "s"
        self.items[key + "s"][new_id] = item = {
            "id": new_id, "name": spec.get("name"), "status": "available",
            "size": spec.get("size", 1), "tenant": token, "created_at": _now(),
            "metadata": spec.get("metadata", {}),
            "availability_zone": spec.get("availability_zone", "nova"),
            "volume_id": spec.get("volume_id"), "backup_id": spec.get("backup_id"),
            "links": self._link(collection, new_id, project)}
        if key == "transfer":
            item["auth_key"] = f"key-{new_id}"
        return self._json({key: item}, 202)

    def _list(self, req, key, token):
        mine = sorted((i for i in self.items[key + "s"].values() if i["tenant"] == token
                       and req.GET.get("volume_id", i["volume_id"]) == i["volume_id"]),
                      key=lambda i: (i["created_at"], i["id"]), reverse=True)
        marker = req.GET.get("marker")
        if marker:
            mine = mine[[i["id"] for i in mine].index(marker) + 1:]
        limit = int(req.GET.get("limit", 2))  # small pages: the gateway must follow
        body = {key + "s": mine[:limit]}
        if len(mine) > limit:
            body[f"{key}s_links"] = [{"rel": "next", "href": "..."}]
        return self._json(body)

    def _accept(self, req, transfer, project, token):
        if json.loads(req.body)["accept"]["auth_key"] != transfer["auth_key"]:
            return self._json({"badRequest": {"code": 400, "message": "Invalid auth key"}},
                              400)
        volume_id = transfer["volume_id"]
        self.items["volumes"][volume_id]["tenant"] = token
        for snapshot in self.items["snapshots"].values():
            if snapshot["volume_id"] == volume_id:
                snapshot["tenant"] = token
        del self.items["transfers"][transfer["id"]]
        return self._json({"transfer": {"id": transfer["id"], "name": transfer["name"],
                                        "volume_id": volume_id, "links": []}}, 202)
