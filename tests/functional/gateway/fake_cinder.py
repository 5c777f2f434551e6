"""A small Cinder v3 over real HTTP (the fake Nova's server): volumes and snapshots with
limit/marker pages, extend, zones, types, a version document."""

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
        self.items = {"volumes": {}, "snapshots": {}}

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
        found = re.match(r"^/(volumes|snapshots)(?:/([^/]+))?(/action)?$", rest)
        if not found:
            return self._json({"itemNotFound": {"code": 404, "message": rest}}, 404)
        collection, item_id, action = found.groups()
        key = collection[:-1]
        items = self.items[collection]
        if item_id is None and req.method == "POST":
            spec = json.loads(req.body)[key]
            if collection == "snapshots" and spec["volume_id"] not in self.items["volumes"]:
                return self._json({"itemNotFound": {"code": 404, "message": "no volume"}}, 404)
            new_id = str(uuid.uuid4())
            items[new_id] = {"id": new_id, "name": spec.get("name"), "status": "available",
                             "size": spec.get("size", 1), "tenant": token,
                             "created_at": _now(), "metadata": spec.get("metadata", {}),
                             "availability_zone": spec.get("availability_zone", "nova"),
                             "volume_id": spec.get("volume_id"),
                             "links": self._link(collection, new_id, project)}
            return self._json({key: items[new_id]}, 202)
        if item_id == "detail":
            mine = sorted((i for i in items.values() if i["tenant"] == token),
                          key=lambda i: (i["created_at"], i["id"]), reverse=True)
            marker = req.GET.get("marker")
            if marker:
                mine = mine[[i["id"] for i in mine].index(marker) + 1:]
            limit = int(req.GET.get("limit", 2))  # small pages: the gateway must follow
            body = {collection: mine[:limit]}
            if len(mine) > limit:
                body[f"{collection}_links"] = [{"rel": "next", "href": "..."}]
            return self._json(body)
        item = items.get(item_id)
        if item is None:
            return self._json({"itemNotFound": {"code": 404, "message": "not found"}}, 404)
        if action:
            extend = json.loads(req.body)["os-extend"]
            item["size"] = extend["new_size"]
            return webob.Response(status=202)
        if req.method == "DELETE":
            del items[item_id]
            return webob.Response(status=202)
        return self._json({key: item})
