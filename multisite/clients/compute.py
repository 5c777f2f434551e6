"""Nova in one region: keypairs (for a given user), flavors and the servers of a rollout's
boot check, with service credentials."""

import json as jsonlib
from urllib import parse

from multisite.clients import http, session

# 2.10: an admin may read/create/delete the keypair of another user (user_id).
KEYPAIR_MICROVERSION = "2.10"
# 2.55: flavor description. Below 2.86 extra specs are not validated against a schema,
# so whatever the source region accepted is copied as is.
FLAVOR_MICROVERSION = "2.55"
# 2.61: the flavor list carries each flavor's extra specs (one call for a whole region).
FLAVOR_LIST_MICROVERSION = "2.61"


def normalize_flavor(raw):
    """Nova's flavor body as the plain attributes a flavor sync compares."""
    return {
        "id": raw["id"],
        "name": raw["name"],
        "ram": raw["ram"],
        "vcpus": raw["vcpus"],
        "disk": raw["disk"],
        "ephemeral": raw.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0,
        "swap": raw.get("swap") or 0,
        "rxtx_factor": float(raw.get("rxtx_factor") or 1.0),
        "is_public": raw.get("os-flavor-access:is_public", True),
        "description": raw.get("description"),
    }


def _parse_keypairs(body):
    return [{"name": k["keypair"]["name"], "public_key": k["keypair"]["public_key"],
             "type": k["keypair"].get("type", "ssh")} for k in jsonlib.loads(body)["keypairs"]]


def _parse_flavors(body):
    return [dict(normalize_flavor(f), extra_specs=f.get("extra_specs") or {})
            for f in jsonlib.loads(body)["flavors"]]


def _next_flavors(body):
    page = jsonlib.loads(body)
    nxt = [link["href"] for link in page.get("flavors_links", ())
           if link.get("rel") == "next"]
    return nxt[0] if nxt and page["flavors"] else None


class ComputeClient:
    """The calls the keypair and flavor reconcilers need, in one region."""

    def __init__(self, conf, region):
        self.region = region
        self._kp = session.PooledApi(conf, "compute", region,
                                     microversion=KEYPAIR_MICROVERSION)
        self._fl = session.PooledApi(conf, "compute", region,
                                     microversion=FLAVOR_MICROVERSION)
        self._fl_list = session.PooledApi(conf, "compute", region,
                                          microversion=FLAVOR_LIST_MICROVERSION)

    # -- keypairs ------------------------------------------------------------------------
    def get_keypair(self, name, *, user_id):
        path = f"/os-keypairs/{parse.quote(name, safe='')}?user_id={parse.quote(user_id)}"
        with session.translate(self.region, f"get keypair {name}"):
            body = self._kp.get(path).json()["keypair"]
        return {"name": body["name"], "public_key": body["public_key"],
                "type": body.get("type", "ssh"), "user_id": body.get("user_id", user_id)}

    def list_keypairs(self, *, user_id):
        """Every keypair of the user (name, public key, type): one call."""
        return self.read_keypairs(user_id=user_id).items

    def read_keypairs(self, *, user_id):
        """The same call as an http.Listing (its `digest` tells an audit that nothing
        changed without parsing the answer)."""
        with session.translate(self.region, f"list keypairs of {user_id}"):
            body = self._kp.get(f"/os-keypairs?user_id={parse.quote(user_id)}").data
        return http.Listing(body, _parse_keypairs)

    def create_keypair(self, *, name, public_key, key_type, user_id):
        body = {"keypair": {"name": name, "public_key": public_key, "type": key_type,
                            "user_id": user_id}}
        with session.translate(self.region, f"create keypair {name}"):
            self._kp.post("/os-keypairs", json=body)

    def delete_keypair(self, name, *, user_id):
        path = f"/os-keypairs/{parse.quote(name, safe='')}?user_id={parse.quote(user_id)}"
        with session.translate(self.region, f"delete keypair {name}"):
            self._kp.delete(path)

    # -- flavors -------------------------------------------------------------------------
    def find_flavors(self, name):
        """Flavors (public and private) named exactly `name`."""
        with session.translate(self.region, f"list flavors named {name}"):
            flavors = self._fl.get("/flavors/detail?is_public=None").json()["flavors"]
        return [normalize_flavor(f) for f in flavors if f["name"] == name]

    def list_flavors(self):
        """Every flavor (public and private) with its `extra_specs`: one call per 1,000."""
        return self.read_flavors().items

    def read_flavors(self):
        """The same calls as an http.Listing over every page. A page's JSON is decoded
        here only if it may link a next page (Nova adds `flavors_links` to a full page)."""
        path, bodies = "/flavors/detail?is_public=None", []
        while path:
            with session.translate(self.region, "list flavors"):
                body = self._fl_list.get(path).data
            bodies.append(body)
            path = _next_flavors(body) if b'"flavors_links"' in body else None
        return http.Listing.pages(bodies, _parse_flavors)

    def get_flavor(self, flavor_id):
        with session.translate(self.region, f"get flavor {flavor_id}"):
            raw = self._fl.get(f"/flavors/{parse.quote(flavor_id, safe='')}").json()["flavor"]
        return normalize_flavor(raw)

    def create_flavor(self, flavor):
        """Create from normalized attributes; `id` None lets Nova choose one."""
        body = {
            "name": flavor["name"], "ram": flavor["ram"], "vcpus": flavor["vcpus"],
            "disk": flavor["disk"], "OS-FLV-EXT-DATA:ephemeral": flavor["ephemeral"],
            "swap": flavor["swap"], "rxtx_factor": flavor["rxtx_factor"],
            "os-flavor-access:is_public": flavor["is_public"],
        }
        if flavor.get("id"):
            body["id"] = flavor["id"]
        if flavor.get("description"):
            body["description"] = flavor["description"]
        with session.translate(self.region, f"create flavor {flavor['name']}"):
            raw = self._fl.post("/flavors", json={"flavor": body}).json()["flavor"]
        return normalize_flavor(raw)

    def delete_flavor(self, flavor_id):
        with session.translate(self.region, f"delete flavor {flavor_id}"):
            self._fl.delete(f"/flavors/{parse.quote(flavor_id, safe='')}")

    def get_extra_specs(self, flavor_id):
        with session.translate(self.region, f"get extra specs of flavor {flavor_id}"):
            path = f"/flavors/{parse.quote(flavor_id, safe='')}/os-extra_specs"
            return self._fl.get(path).json()["extra_specs"]

    def set_extra_specs(self, flavor_id, specs):
        with session.translate(self.region, f"set extra specs of flavor {flavor_id}"):
            path = f"/flavors/{parse.quote(flavor_id, safe='')}/os-extra_specs"
            self._fl.post(path, json={"extra_specs": specs})

    def get_flavor_access(self, flavor_id):
        with session.translate(self.region, f"get access list of flavor {flavor_id}"):
            path = f"/flavors/{parse.quote(flavor_id, safe='')}/os-flavor-access"
            return sorted(a["tenant_id"] for a in self._fl.get(path).json()["flavor_access"])

    def add_flavor_access(self, flavor_id, project_id):
        with session.translate(self.region, f"grant {project_id} flavor {flavor_id}"):
            path = f"/flavors/{parse.quote(flavor_id, safe='')}/action"
            self._fl.post(path, json={"addTenantAccess": {"tenant": project_id}})

    def remove_flavor_access(self, flavor_id, project_id):
        with session.translate(self.region, f"revoke {project_id} flavor {flavor_id}"):
            path = f"/flavors/{parse.quote(flavor_id, safe='')}/action"
            self._fl.post(path, json={"removeTenantAccess": {"tenant": project_id}})


class BootClient:
    """The boot check of an image rollout (docs/images.md): one server from the new image,
    deleted once ACTIVE (or ERROR). Service credentials: the server is in the service
    user's project; Glance lets an admin boot any project's image, hidden or not."""

    def __init__(self, conf, region):
        self.region = region
        # 2.37: "networks": "none" (a boot check without a network)
        self._api = session.PooledApi(conf, "compute", region, microversion="2.37")

    def flavor_ref(self, flavor):
        """The id of the flavor named (or with id) `flavor`; None when there is none."""
        with session.translate(self.region, f"list flavors named {flavor}"):
            found = self._api.get("/flavors/detail?is_public=None").json()["flavors"]
        ids = [f["id"] for f in found if flavor in (f["id"], f["name"])]
        return ids[0] if ids else None

    def find_servers(self, name):
        """{id: status} of the servers named exactly `name` (every project)."""
        path = f"/servers/detail?all_tenants=1&name={parse.quote('^' + name + '$')}"
        with session.translate(self.region, f"list servers named {name}"):
            found = self._api.get(path).json()["servers"]
        return {s["id"]: s["status"] for s in found if s["name"] == name}

    def create_server(self, *, name, image_id, flavor_id, network=None):
        """`network`: a network id, or None (no network: nova's `networks: none`)."""
        body = {"name": name, "imageRef": image_id, "flavorRef": flavor_id,
                "networks": [{"uuid": network}] if network else "none"}
        with session.translate(self.region, f"create server {name}"):
            return self._api.post("/servers", json={"server": body}).json()["server"]["id"]

    def get_server(self, server_id):
        """(status, fault message or None)."""
        with session.translate(self.region, f"get server {server_id}"):
            found = self._api.get(f"/servers/{parse.quote(server_id, safe='')}").json()
        server = found["server"]
        return server["status"], (server.get("fault") or {}).get("message")

    def delete_server(self, server_id):
        with session.translate(self.region, f"delete server {server_id}"):
            self._api.delete(f"/servers/{parse.quote(server_id, safe='')}")


def boot_for_region(conf, region):
    """The boot-check client of `region` (tests replace this with an in-memory cloud)."""
    return BootClient(conf, region)


def for_region(conf, region):
    """The compute client of `region` (tests replace this with an in-memory cloud)."""
    return ComputeClient(conf, region)
