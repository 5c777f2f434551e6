"""A small Neutron over real HTTP (wsgiref in a thread) for the gateway's functional tests:
networks, subnets, ports with an IPAM (next free address of the pools, or the one asked;
a taken address or MAC is a 409), security groups and rules, tags, name/id filters.

Tokens are `token-of-<project>` (the caller's project); a call without a token is
Multisite's service user (an admin: may set a port's MAC and any project_id). Like a
real Neutron with no DHCP agent, it refuses `availability_zone_hints`.
"""

import ipaddress
import json
import random
import re
import threading
import uuid
import wsgiref.simple_server

import webob

from tests.functional.gateway.fake_nova import QuietHandler

COLLECTIONS = {"networks": "network", "subnets": "subnet", "ports": "port",
               "security-groups": "security_group",
               "security-group-rules": "security_group_rule", "routers": "router",
               "floatingips": "floatingip"}


class FakeNeutron:
    def __init__(self, name):
        self.name = name
        self.items = {c: {} for c in COLLECTIONS}
        self.requests = []
        self.httpd = wsgiref.simple_server.make_server("127.0.0.1", 0, self,
                                                       handler_class=QuietHandler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def of(self, collection, **filters):
        return [i for i in self.items[collection].values()
                if all(i.get(k) == v for k, v in filters.items())]

    def _json(self, body, status=200):
        resp = webob.Response(body=json.dumps(body).encode(), status=status,
                              content_type="application/json", charset="UTF-8")
        resp.headers["x-openstack-request-id"] = f"req-{self.name}-{uuid.uuid4()}"
        return resp

    def _error(self, status, message):
        return self._json({"NeutronError": {"type": "Fake", "message": message,
                                            "detail": ""}}, status)

    def __call__(self, environ, start_response):
        req = webob.Request(environ)
        token = req.headers.get("X-Auth-Token")
        self.requests.append((req.method, req.path_info, req.query_string, token, req.body))
        return self.route(req, token)(environ, start_response)

    def route(self, req, token):
        if req.path_info in ("", "/"):
            return self._json({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": self.url + "/v2.0/"}]}]})
        action = re.match(r"^/v2\.0/routers/([^/]+)/(add|remove)_router_interface$",
                          req.path_info)
        if action and req.method == "PUT":
            return self._interface(action[1], action[2] == "add", json.loads(req.body))
        found = re.match(r"^/v2\.0/([a-z-]+)(?:/([^/]+))?(/tags)?$", req.path_info)
        if not found or found[1] not in COLLECTIONS:
            return self._error(404, f"no {req.path_info}")
        collection, item_id = found[1], found[2]
        key = COLLECTIONS[collection]
        project = token.removeprefix("token-of-") if token else None
        if item_id is None and req.method == "GET":
            items = list(self.items[collection].values())
            for name, values in req.GET.dict_of_lists().items():
                items = [i for i in items if str(i.get(name)) in values]
            return self._json({collection.replace("-", "_"): items})
        if item_id is None and req.method == "POST":
            spec = json.loads(req.body)[key]
            try:
                made = getattr(self, "_make_" + key)(spec, project)
            except ValueError as exc:
                return self._error(int(exc.args[0]), exc.args[1])
            made.setdefault("id", str(uuid.uuid4()))
            made.setdefault("project_id", spec.get("project_id") if project is None else project)
            made.setdefault("tags", [])
            self.items[collection][made["id"]] = made
            return self._json({key: made}, 201)
        item = self.items[collection].get(item_id)
        if item is None:
            return self._error(404, f"{key} {item_id} could not be found")
        if found[3] and req.method == "PUT":
            item["tags"] = json.loads(req.body)["tags"]
            return self._json({"tags": item["tags"]})
        if req.method == "DELETE":
            del self.items[collection][item_id]
            return webob.Response(status=204)
        if req.method == "PUT":
            item.update(json.loads(req.body)[key])
        return self._json({key: item})

    def _interface(self, router_id, add, spec):
        router = self.items["routers"].get(router_id)
        subnet = self.items["subnets"].get(spec.get("subnet_id"))
        if router is None or subnet is None:
            return self._error(404, f"router {router_id} or subnet {spec} could not be found")
        port_id = str(uuid.uuid4())
        held = [p for p in self.of("ports", device_id=router_id) if p["fixed_ips"][0][
            "subnet_id"] == subnet["id"]]
        for port in held if not add else []:
            del self.items["ports"][port["id"]]
        if add:                     # the router's interface port, as Neutron makes it
            self.items["ports"][port_id] = {
                "id": port_id, "device_id": router_id, "network_id": subnet["network_id"],
                "device_owner": "network:router_interface", "project_id": router["project_id"],
                "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": subnet["gateway_ip"]}]}
        return self._json({"id": router_id, "subnet_id": subnet["id"], "subnet_ids": [
            subnet["id"]], "network_id": subnet["network_id"], "port_id": port_id,
            "project_id": router["project_id"], "tenant_id": router["project_id"]})

    def _make_router(self, spec, project):
        return {"name": spec.get("name", ""), "routes": [], "external_gateway_info": None}

    def _make_network(self, spec, project):
        if spec.get("availability_zone_hints"):
            raise ValueError(404, "AvailabilityZone of the network could not be found")
        return dict(spec, availability_zone_hints=[], admin_state_up=True, status="ACTIVE")

    def _make_subnet(self, spec, project):
        cidr = ipaddress.ip_network(spec["cidr"])
        hosts = list(cidr.hosts())
        pools = spec.get("allocation_pools") or [{"start": str(hosts[1]),
                                                  "end": str(hosts[-1])}]
        return dict(spec, ip_version=spec.get("ip_version", 4), allocation_pools=pools,
                    gateway_ip=spec.get("gateway_ip", str(hosts[0])),
                    enable_dhcp=spec.get("enable_dhcp", True))

    def _make_security_group(self, spec, project):
        group = dict(spec, id=str(uuid.uuid4()))
        group["security_group_rules"] = [
            {"id": str(uuid.uuid4()), "direction": "egress", "ethertype": e,
             "security_group_id": group["id"], "protocol": None, "port_range_min": None,
             "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None}
            for e in ("IPv4", "IPv6")]
        return group

    def _make_security_group_rule(self, spec, project):
        rule = dict({f: None for f in ("protocol", "port_range_min", "port_range_max",
                                       "remote_ip_prefix", "remote_group_id")}, **spec)
        group = self.items["security-groups"][spec["security_group_id"]]
        rule["id"] = str(uuid.uuid4())
        group["security_group_rules"].append(rule)
        return rule

    def _make_port(self, spec, project):
        if "mac_address" in spec and project is not None:
            raise ValueError(403, "only an admin sets mac_address")
        net = spec["network_id"]
        if net not in self.items["networks"]:
            raise ValueError(404, f"network {net} not found")
        taken = {ip["ip_address"] for p in self.of("ports", network_id=net)
                 for ip in p["fixed_ips"]}
        mac = spec.get("mac_address") or "fa:16:3e:" + ":".join(
            f"{random.randrange(256):02x}" for _ in range(3))
        if any(p["mac_address"] == mac for p in self.of("ports", network_id=net)):
            raise ValueError(409, f"MAC {mac} is in use")
        fixed = []
        for want in spec.get("fixed_ips") or [{}]:
            subnets = [s for s in self.of("subnets", network_id=net)
                       if want.get("subnet_id") in (None, s["id"])]
            if not subnets:
                raise ValueError(400, "no subnet")
            subnet = subnets[0]
            if want.get("ip_address"):
                if want["ip_address"] in taken:
                    raise ValueError(409, f"IP address {want['ip_address']} already allocated")
                address = want["ip_address"]
            else:
                pool = subnet["allocation_pools"][0]
                start, end = (ipaddress.ip_address(pool[k]) for k in ("start", "end"))
                address = next(str(start + i) for i in range(int(end) - int(start) + 1)
                               if str(start + i) not in taken)
            fixed.append({"subnet_id": subnet["id"], "ip_address": address})
        groups = spec.get("security_groups")
        if groups is None:
            groups = [g["id"] for g in self.of("security-groups", name="default")][:1]
        return dict(spec, mac_address=mac, fixed_ips=fixed, security_groups=groups,
                    device_id=spec.get("device_id", ""), status="DOWN")
