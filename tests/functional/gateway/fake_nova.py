"""A small Nova over real HTTP (wsgiref in a thread): what the gateway forwards to in the
functional tests. Servers, flavors, a version document, pagination by limit/marker."""

import datetime
import itertools
import json
import re
import threading
import time
import uuid
import wsgiref.simple_server

import webob

_CLOCK = itertools.count()


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class FakeNova:
    def __init__(self, name):
        self.name = name
        self.servers = {}
        self.keypairs = {}   # (user, name) -> keypair; the user is the token here
        self.requests = []
        self.list_delay = 0.0   # seconds a list waits before answering (a slow pod)
        self.httpd = wsgiref.simple_server.make_server("127.0.0.1", 0, self,
                                                       handler_class=QuietHandler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/v2.1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _json(self, body, status=200):
        resp = webob.Response(body=json.dumps(body).encode(), status=status,
                              content_type="application/json", charset="UTF-8")
        resp.headers["x-openstack-request-id"] = f"req-{self.name}-{uuid.uuid4()}"
        return resp

    def _link(self, server_id):
        return [{"rel": "self", "href": f"{self.url}/servers/{server_id}"}]

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        self.requests.append((req.method, req.path_info, req.query_string,
                              req.headers.get("X-Auth-Token"), req.body))
        return self.route(req)(environ, start_response)

    def route(self, req):
        path = req.path_info[len("/v2.1"):]
        if path in ("", "/"):
            return self._json({"version": {"id": "v2.1", "status": "CURRENT",
                                           "version": "2.90", "min_version": "2.1",
                                           "links": [{"rel": "self", "href": self.url + "/"}]}})
        if path == "/flavors/detail":
            return self._json({"flavors": [{"id": "f1", "name": "m1.tiny", "ram": 64,
                                            "vcpus": 1, "disk": 0,
                                            "links": [{"rel": "self",
                                                       "href": f"{self.url}/flavors/f1"}]}]})
        if path.startswith("/os-keypairs"):
            return self.keypair_call(req, path[len("/os-keypairs"):].strip("/"))
        if path == "/servers" and req.method == "POST":
            spec = json.loads(req.body)["server"]
            server_id = str(uuid.uuid4())
            created = (datetime.datetime(2026, 1, 1)
                       + datetime.timedelta(seconds=next(_CLOCK))).strftime("%Y-%m-%dT%H:%M:%SZ")
            if spec.get("key_name") and (req.headers.get("X-Auth-Token"),
                                         spec["key_name"]) not in self.keypairs:
                return self._json({"badRequest": {"code": 400,
                                                  "message": "Invalid key_name provided."}}, 400)
            self.servers[server_id] = {"id": server_id, "name": spec["name"], "status": "ACTIVE",
                                       # Nova's project is the token's; here the token
                                       "tenant_id": req.headers.get("X-Auth-Token"),
                                       "created": created, "metadata": spec.get("metadata", {}),
                                       "OS-EXT-AZ:availability_zone":
                                           spec.get("availability_zone", "nova"),
                                       "links": self._link(server_id)}
            return self._json({"server": {"id": server_id, "links": self._link(server_id)}}, 202)
        if path == "/servers/detail":
            time.sleep(self.list_delay)
            mine = [s for s in self.servers.values()
                    if s["tenant_id"] == req.headers.get("X-Auth-Token")]
            items = sorted(mine, key=lambda s: (s["created"], s["id"]),
                           reverse=True)
            marker = req.GET.get("marker")
            if marker:
                items = items[[s["id"] for s in items].index(marker) + 1:]
            limit = int(req.GET.get("limit", 2))  # small pages: the gateway must follow
            body = {"servers": items[:limit]}
            if len(items) > limit:
                body["servers_links"] = [{"rel": "next", "href": "..."}]
            return self._json(body)
        found = re.match(r"^/servers/([^/]+)/os-volume_attachments$", path)
        if found and found.group(1) in self.servers:
            attach = json.loads(req.body)["volumeAttachment"]
            self.servers[found.group(1)].setdefault("volumes", []).append(attach["volumeId"])
            return self._json({"volumeAttachment": {"id": attach["volumeId"],
                                                    "volumeId": attach["volumeId"],
                                                    "serverId": found.group(1)}})
        found = re.match(r"^/servers/([^/]+)(/action)?$", path)
        if found:
            server = self.servers.get(found.group(1))
            if server is None:
                return self._json({"itemNotFound": {"code": 404, "message": "not found"}}, 404)
            if found.group(2):
                action = next(iter(json.loads(req.body)))
                server["status"] = {"os-stop": "SHUTOFF", "os-start": "ACTIVE",
                                    "pause": "PAUSED", "reboot": "ACTIVE"}[action]
                return webob.Response(status=202)
            if req.method == "DELETE":
                del self.servers[server["id"]]
                return webob.Response(status=204)
            return self._json({"server": server})
        return self._json({"itemNotFound": {"code": 404, "message": path}}, 404)

    def keypair_call(self, req, name):
        user = req.headers.get("X-Auth-Token")
        if not name and req.method == "POST":
            spec = json.loads(req.body)["keypair"]
            if (user, spec["name"]) in self.keypairs:
                return self._json({"conflictingRequest": {"code": 409, "message": "exists"}},
                                  409)
            self.keypairs[user, spec["name"]] = {"name": spec["name"], "type": "ssh",
                                                 "public_key": spec["public_key"]}
            return self._json({"keypair": self.keypairs[user, spec["name"]]})
        if not name:
            return self._json({"keypairs": [{"keypair": k} for (u, _), k in
                                             sorted(self.keypairs.items()) if u == user]})
        if (user, name) not in self.keypairs:
            return self._json({"itemNotFound": {"code": 404, "message": "no keypair"}}, 404)
        if req.method == "DELETE":
            del self.keypairs[user, name]
            return webob.Response(status=202)
        return self._json({"keypair": self.keypairs[user, name]})
