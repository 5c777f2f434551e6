"""Catalog, projects and users, through Keystone's REST API (stdlib only, idempotent)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from multisite.devcloud import layout as L

SERVICE_PASSWORDS = {svc: f"{svc}pw" for svc in [*L.REGION_SERVICES, "placement"]}

# (service type, service name, url template); {port} is the region's port for the service
CATALOG = {
    "identity": ("keystone", None),
    "compute": ("nova", "http://127.0.0.1:{port}/v2.1"),
    "volumev3": ("cinderv3", "http://127.0.0.1:{port}/v3/%(project_id)s"),
    "network": ("neutron", "http://127.0.0.1:{port}"),
    "image": ("glance", "http://127.0.0.1:{port}"),
    "placement": ("placement", "http://127.0.0.1:{port}"),  # full profile only
    "synchronization": ("multisite", None),
}
TYPE_TO_SERVICE = {"compute": "nova", "volumev3": "cinder", "network": "neutron", "image": "glance",
                   "placement": "placement"}
INTERFACES = ("public", "internal", "admin")
# with a gateway, the top region's compute, volume and network endpoints are the gateway's
# (below its URL: the prefixes multisite/gateway/app.py serves)
GATEWAY_PATHS = {"compute": "/compute/v2.1", "volumev3": "/volume/v3/%(project_id)s",
                 "network": "/network"}


def endpoint_url(stype: str, region: str, *, offset: int = 0, keystones: int = 1,
                 gateway_url: str | None = None, top: str | None = None) -> str:
    """The catalog URL of service ``stype`` in ``region``."""
    index = L.region_index(region)
    if gateway_url and region == top and stype in GATEWAY_PATHS:
        return gateway_url.rstrip("/") + GATEWAY_PATHS[stype]
    if stype == "identity":
        # gotcha: identity must be listed in every region
        return L.keystone_url(offset, index if index <= keystones else 1)
    if stype == "synchronization":
        return L.MULTISITE_URL
    return CATALOG[stype][1].format(port=L.port(TYPE_TO_SERVICE[stype], index, offset))


class KeystoneError(RuntimeError):
    pass


class Keystone:
    """A tiny admin client for the Keystone v3 API."""

    def __init__(self, url: str = L.KEYSTONE_URL, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None

    def login(
        self,
        username: str = L.ADMIN_USER,
        password: str = L.ADMIN_PASSWORD,
        project: str = L.ADMIN_PROJECT,
    ) -> None:
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": username,
                            "domain": {"id": "default"},
                            "password": password,
                        }
                    },
                },
                "scope": {"project": {"name": project, "domain": {"id": "default"}}},
            }
        }
        _, headers = self._call("POST", "/auth/tokens", body, want_headers=True)
        self.token = headers["X-Subject-Token"]

    def _call(self, method: str, path: str, body: dict | None = None, want_headers=False):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("X-Auth-Token", self.token)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
                headers = resp.headers
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise KeystoneError(f"{method} {path}: HTTP {exc.code}: {detail}") from exc
        result = json.loads(raw) if raw else None
        return (result, headers) if want_headers else result

    def get(self, path: str):
        return self._call("GET", path)

    def post(self, path: str, body: dict):
        return self._call("POST", path, body)

    def put(self, path: str):
        return self._call("PUT", path)

    def patch(self, path: str, body: dict):
        return self._call("PATCH", path, body)

    def delete(self, path: str):
        return self._call("DELETE", path)

    # -- get-or-create helpers -------------------------------------------------------------
    def role(self, name: str) -> str:
        found = self.get(f"/roles?name={name}")["roles"]
        if found:
            return found[0]["id"]
        return self.post("/roles", {"role": {"name": name}})["role"]["id"]

    def project(self, name: str, description: str = "") -> str:
        found = self.get(f"/projects?name={name}&domain_id=default")["projects"]
        if found:
            return found[0]["id"]
        body = {"project": {"name": name, "domain_id": "default", "description": description}}
        return self.post("/projects", body)["project"]["id"]

    def user(self, name: str, password: str, project_id: str | None = None) -> str:
        found = self.get(f"/users?name={name}&domain_id=default")["users"]
        if found:
            return found[0]["id"]
        body = {"user": {"name": name, "password": password, "domain_id": "default"}}
        if project_id:
            body["user"]["default_project_id"] = project_id
        return self.post("/users", body)["user"]["id"]

    def grant(self, project_id: str, user_id: str, role_id: str) -> None:
        self.put(f"/projects/{project_id}/users/{user_id}/roles/{role_id}")


def setup(ks: Keystone, regions: list[str], log=print, *, layout: L.Layout | None = None,
          full: bool = False, keystones: int = 1, gateway_url: str | None = None,
          top: str | None = None) -> None:
    """Make the catalog, projects and users match ``regions``; safe to run again.

    Region N's identity endpoint is keystone N's when ``keystones`` >= N, else the first's.
    With ``gateway_url``, region ``top``'s compute, volumev3 and network endpoints are the
    multisite-gateway's (the big region; its own services stay running, unlisted).
    """
    offset = layout.port_offset if layout is not None else 0
    catalog = {t: v for t, v in CATALOG.items() if full or t != "placement"}
    roles = {name: ks.role(name) for name in ("admin", "member", "reader", "service")}

    service_project = ks.project("service", "devcloud service users")
    for svc, password in SERVICE_PASSWORDS.items():
        uid = ks.user(svc, password, service_project)
        ks.grant(service_project, uid, roles["admin"])
        ks.grant(service_project, uid, roles["service"])

    demo_project = ks.project(L.DEMO_PROJECT, "devcloud demo project")
    demo_user = ks.user(L.DEMO_USER, L.DEMO_PASSWORD, demo_project)
    ks.grant(demo_project, demo_user, roles["member"])

    existing_regions = {r["id"] for r in ks.get("/regions")["regions"]}
    for region in regions:
        if region not in existing_regions:
            ks.post("/regions", {"region": {"id": region}})

    services = {s["type"]: s["id"] for s in ks.get("/services")["services"]}
    for stype, (sname, _) in catalog.items():
        if stype not in services:
            body = {"service": {"type": stype, "name": sname, "enabled": True}}
            services[stype] = ks.post("/services", body)["service"]["id"]
    by_id = {sid: stype for stype, sid in services.items()}

    wanted: dict[tuple[str, str, str], str] = {}
    for region in regions:
        for stype in catalog:
            url = endpoint_url(stype, region, offset=offset, keystones=keystones,
                               gateway_url=gateway_url, top=top)
            for interface in INTERFACES:
                wanted[(stype, region, interface)] = url

    created = removed = 0
    for ep in ks.get("/endpoints")["endpoints"]:
        stype = by_id.get(ep["service_id"])
        if stype not in catalog:
            continue
        key = (stype, ep.get("region_id") or ep.get("region"), ep["interface"])
        url = wanted.pop(key, None)
        if url is None:
            # a region that is no longer wanted (an earlier, bigger ``up``) or a duplicate
            ks.delete(f"/endpoints/{ep['id']}")
            removed += 1
        elif ep["url"] != url:
            ks.patch(f"/endpoints/{ep['id']}", {"endpoint": {"url": url}})
    for (stype, region, interface), url in wanted.items():
        body = {
            "endpoint": {
                "service_id": services[stype],
                "region_id": region,
                "interface": interface,
                "url": url,
                "enabled": True,
            }
        }
        ks.post("/endpoints", body)
        created += 1
    log(f"keystone catalog: {len(regions)} regions, {created} endpoints created, {removed} removed")
