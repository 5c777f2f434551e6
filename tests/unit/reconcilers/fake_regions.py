"""An in-memory cloud at the clients/ boundary for os-sync tests: Nova keypairs and
flavors, Glance images, per region, with the errors the real clients raise."""

import copy
import hashlib
import threading
import uuid

from multisite.clients import compute, http, image
from multisite.clients import session as region_errors


class FakeCloud:
    def __init__(self, regions=("RegionOne", "RegionTwo", "RegionThree")):
        self.regions = set(regions)
        self.down = set()
        self.lock = threading.RLock()
        self.keypairs = {r: {} for r in regions}     # (user_id, name) -> keypair
        self.flavors = {r: {} for r in regions}      # id -> flavor (normalized)
        self.specs = {r: {} for r in regions}        # id -> extra specs
        self.access = {r: {} for r in regions}       # id -> [project ids]
        self.images = {r: {} for r in regions}       # id -> image record
        self.data = {r: {} for r in regions}         # id -> bytes
        self.members = {r: {} for r in regions}      # (image id, project) -> status
        self.used_image_ids = {r: set() for r in regions}
        self.servers = {r: {} for r in regions}      # id -> server (boot checks)
        self.boot_result = {}                        # region -> "ERROR" (default ACTIVE)
        self.calls = []

    def install(self, monkeypatch):
        monkeypatch.setattr(compute, "for_region", lambda conf, region: FakeCompute(self, region))
        monkeypatch.setattr(image, "for_region", lambda conf, region: FakeImage(self, region))
        monkeypatch.setattr(compute, "boot_for_region",
                            lambda conf, region: FakeBoot(self, region))
        monkeypatch.setattr(region_errors, "regions", lambda conf, service_type=None:
                            set(self.regions))
        monkeypatch.setattr(region_errors, "project_regions", lambda conf, project_id:
                            set(self.regions))
        return self

    def check(self, region, what):
        self.calls.append((region, what))
        if region not in self.regions:
            raise region_errors.UnknownRegion(region, f"no endpoint for {what}")
        if region in self.down:
            raise region_errors.Unavailable(region, f"unreachable during {what}")

    # -- seeding -------------------------------------------------------------------------
    def add_keypair(self, region, user_id, name, public_key="ssh-ed25519 AAAA key", kind="ssh"):
        self.keypairs[region][(user_id, name)] = {"name": name, "public_key": public_key,
                                                  "type": kind, "user_id": user_id}

    def add_flavor(self, region, name, *, flavor_id=None, is_public=True, specs=None,
                   access=(), **attrs):
        flavor = {"id": flavor_id or str(uuid.uuid4()), "name": name, "ram": 512, "vcpus": 1,
                  "disk": 10, "ephemeral": 10, "swap": 1024, "rxtx_factor": 2.0,
                  "is_public": is_public, "description": None}
        flavor.update(attrs)
        self.flavors[region][flavor["id"]] = flavor
        self.specs[region][flavor["id"]] = dict(specs or {})
        self.access[region][flavor["id"]] = list(access)
        return flavor

    def add_image(self, region, *, owner, data=b"abc" * 1000, disk_format="raw",
                  visibility="private", image_id=None, **props):
        image_id = image_id or str(uuid.uuid4())
        record = {"id": image_id, "name": props.pop("name", "img-" + image_id[:6]),
                  "owner": owner, "visibility": visibility, "disk_format": disk_format,
                  "container_format": props.pop("container_format", "bare"),
                  "status": "queued", "min_disk": 0, "min_ram": 0, "protected": False,
                  "tags": [], "size": None, "checksum": None, "os_hash_algo": None,
                  "os_hash_value": None, **props}
        self.images[region][image_id] = record
        self.used_image_ids[region].add(image_id)
        self._store(region, image_id, data)
        return record

    def _store(self, region, image_id, data):
        record = self.images[region][image_id]
        self.data[region][image_id] = data
        record.update(status="active", size=len(data),
                      checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
                      os_hash_algo="sha512", os_hash_value=hashlib.sha512(data).hexdigest())


class FakeCompute:
    def __init__(self, cloud, region):
        self.cloud, self.region = cloud, region

    def get_keypair(self, name, *, user_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"get keypair {name}")
            found = self.cloud.keypairs[self.region].get((user_id, name))
            if found is None:
                raise region_errors.NotFound(self.region, f"keypair {name}", status=404)
            return dict(found)

    def list_keypairs(self, *, user_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "list keypairs")
            return [{"name": k["name"], "public_key": k["public_key"], "type": k["type"]}
                    for (user, _), k in self.cloud.keypairs[self.region].items()
                    if user == user_id]

    def read_keypairs(self, *, user_id):
        return http.Listing.of(self.list_keypairs(user_id=user_id))

    def create_keypair(self, *, name, public_key, key_type, user_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"create keypair {name}")
            if (user_id, name) in self.cloud.keypairs[self.region]:
                raise region_errors.Conflict(self.region, f"keypair {name} exists", status=409)
            self.cloud.add_keypair(self.region, user_id, name, public_key, key_type)

    def delete_keypair(self, name, *, user_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"delete keypair {name}")
            if self.cloud.keypairs[self.region].pop((user_id, name), None) is None:
                raise region_errors.NotFound(self.region, f"keypair {name}", status=404)

    def find_flavors(self, name):
        with self.cloud.lock:
            self.cloud.check(self.region, f"find flavor {name}")
            return [dict(f) for f in self.cloud.flavors[self.region].values()
                    if f["name"] == name]

    def list_flavors(self):
        with self.cloud.lock:
            self.cloud.check(self.region, "list flavors")
            return [dict(f, extra_specs=dict(self.cloud.specs[self.region].get(f["id"], {})))
                    for f in self.cloud.flavors[self.region].values()]

    def read_flavors(self):
        return http.Listing.of(self.list_flavors())

    def get_flavor(self, flavor_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"get flavor {flavor_id}")
            found = self.cloud.flavors[self.region].get(flavor_id)
            if found is None:
                raise region_errors.NotFound(self.region, f"flavor {flavor_id}", status=404)
            return dict(found)

    def create_flavor(self, flavor):
        with self.cloud.lock:
            self.cloud.check(self.region, f"create flavor {flavor['name']}")
            mine = self.cloud.flavors[self.region]
            if flavor.get("id") in mine or any(f["name"] == flavor["name"]
                                               for f in mine.values()):
                raise region_errors.Conflict(self.region, "flavor exists", status=409)
            attrs = {k: v for k, v in flavor.items() if k not in ("id", "name")}
            return dict(self.cloud.add_flavor(self.region, flavor["name"],
                                              flavor_id=flavor.get("id"), **attrs))

    def delete_flavor(self, flavor_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"delete flavor {flavor_id}")
            if self.cloud.flavors[self.region].pop(flavor_id, None) is None:
                raise region_errors.NotFound(self.region, f"flavor {flavor_id}", status=404)

    def get_extra_specs(self, flavor_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "get extra specs")
            return dict(self.cloud.specs[self.region].get(flavor_id, {}))

    def set_extra_specs(self, flavor_id, specs):
        with self.cloud.lock:
            self.cloud.check(self.region, "set extra specs")
            self.cloud.specs[self.region].setdefault(flavor_id, {}).update(specs)

    def get_flavor_access(self, flavor_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "get flavor access")
            return sorted(self.cloud.access[self.region].get(flavor_id, []))

    def add_flavor_access(self, flavor_id, project_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "add flavor access")
            if self.cloud.flavors[self.region][flavor_id]["is_public"]:
                raise region_errors.Conflict(self.region, "public flavor", status=409)
            self.cloud.access[self.region].setdefault(flavor_id, []).append(project_id)

    def remove_flavor_access(self, flavor_id, project_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "remove flavor access")
            granted = self.cloud.access[self.region].get(flavor_id, [])
            if project_id not in granted:
                raise region_errors.NotFound(self.region, "no such access", status=404)
            granted.remove(project_id)


class FakeBoot:
    """Nova's servers for a rollout's boot check: a server is BUILD when created and then,
    at the next look, ACTIVE (or cloud.boot_result[region], e.g. ERROR with a fault);
    flavors are cloud.flavors."""

    def __init__(self, cloud, region):
        self.cloud, self.region = cloud, region

    def flavor_ref(self, flavor):
        with self.cloud.lock:
            self.cloud.check(self.region, f"list flavors named {flavor}")
            ids = [f["id"] for f in self.cloud.flavors[self.region].values()
                   if flavor in (f["id"], f["name"])]
            return ids[0] if ids else None

    def find_servers(self, name):
        with self.cloud.lock:
            self.cloud.check(self.region, f"list servers named {name}")
            for server in self.cloud.servers[self.region].values():
                if server["status"] == "BUILD" and server["looked"]:
                    server["status"] = self.cloud.boot_result.get(self.region, "ACTIVE")
                server["looked"] = True
            return {i: s["status"] for i, s in self.cloud.servers[self.region].items()
                    if s["name"] == name}

    def create_server(self, *, name, image_id, flavor_id, network=None):
        with self.cloud.lock:
            self.cloud.check(self.region, f"create server {name}")
            if image_id not in self.cloud.images[self.region]:
                raise region_errors.BadRequest(self.region, f"no image {image_id}", status=400)
            server_id = str(uuid.uuid4())
            self.cloud.servers[self.region][server_id] = {
                "name": name, "image": image_id, "flavor": flavor_id, "network": network,
                "status": "BUILD", "looked": False}
            return server_id

    def get_server(self, server_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"get server {server_id}")
            server = self.cloud.servers[self.region].get(server_id)
            if server is None:
                raise region_errors.NotFound(self.region, f"server {server_id}", status=404)
            fault = "No valid host was found." if server["status"] == "ERROR" else None
            return server["status"], fault

    def delete_server(self, server_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"delete server {server_id}")
            if self.cloud.servers[self.region].pop(server_id, None) is None:
                raise region_errors.NotFound(self.region, f"server {server_id}", status=404)


class FakeImage:
    def __init__(self, cloud, region):
        self.cloud, self.region = cloud, region

    def get_image(self, image_id):
        with self.cloud.lock:
            self.cloud.check(self.region, f"get image {image_id}")
            found = self.cloud.images[self.region].get(image_id)
            if found is None:
                raise region_errors.NotFound(self.region, f"image {image_id}", status=404)
            return copy.deepcopy(found)

    def get_member(self, image_id, project_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "get member")
            status = self.cloud.members[self.region].get((image_id, project_id))
            if status is None:
                raise region_errors.NotFound(self.region, "member", status=404)
            return {"status": status}

    def create_image(self, attributes):
        with self.cloud.lock:
            self.cloud.check(self.region, "create image")
            image_id = attributes.get("id") or str(uuid.uuid4())
            if image_id in self.cloud.used_image_ids[self.region]:
                raise region_errors.Conflict(self.region, f"image {image_id} exists",
                                             status=409)
            for key in ("kernel_id", "ramdisk_id"):
                if attributes.get(key) and attributes[key] not in self.cloud.images[self.region]:
                    raise region_errors.BadRequest(self.region, f"bad {key}", status=400)
            record = {"status": "queued", "size": None, "checksum": None, "os_hash_algo": None,
                      "os_hash_value": None, "min_disk": 0, "min_ram": 0, "tags": [],
                      "protected": False, **attributes, "id": image_id}
            self.cloud.images[self.region][image_id] = record
            self.cloud.used_image_ids[self.region].add(image_id)
            return copy.deepcopy(record)

    def delete_image(self, image_id):
        with self.cloud.lock:
            self.cloud.check(self.region, "delete image")
            self.cloud.images[self.region].pop(image_id, None)
            self.cloud.data[self.region].pop(image_id, None)

    def download(self, image_id, *, chunk_size=65536):
        cloud, region = self.cloud, self.region
        with cloud.lock:
            cloud.check(region, f"download image {image_id}")
            data = cloud.data[region][image_id]

        class _Ctx:
            def __enter__(self_inner):
                return (data[i:i + chunk_size] for i in range(0, len(data), chunk_size))

            def __exit__(self_inner, *exc):
                return False

        return _Ctx()

    def upload(self, image_id, chunks, *, size):
        self.cloud.check(self.region, f"upload image {image_id}")
        parts = [bytes(chunk) for chunk in chunks]
        with self.cloud.lock:
            if image_id not in self.cloud.images[self.region]:
                raise region_errors.NotFound(self.region, f"image {image_id}", status=404)
            self.cloud._store(self.region, image_id, b"".join(parts))


def _list_images(self, **filters):
    with self.cloud.lock:
        self.cloud.check(self.region, "list images")
        return [copy.deepcopy(i) for i in self.cloud.images[self.region].values()
                if all(i.get(k) == v for k, v in filters.items())]


def _read_images(self, **filters):
    return http.Listing.of(_list_images(self, **filters))


def _update_image(self, image_id, operations):
    with self.cloud.lock:
        self.cloud.check(self.region, f"update image {image_id}")
        record = self.cloud.images[self.region].get(image_id)
        if record is None:
            raise region_errors.NotFound(self.region, f"image {image_id}", status=404)
        for op in operations:
            key = op["path"].lstrip("/")
            if op["op"] == "remove":
                record.pop(key, None)
            else:
                record[key] = op["value"]
        return copy.deepcopy(record)


def _shared(self, image_id, what):
    """Glance: 404 for an unknown image, 403 for members of an image that is not shared."""
    self.cloud.check(self.region, what)
    record = self.cloud.images[self.region].get(image_id)
    if record is None:
        raise region_errors.NotFound(self.region, f"image {image_id}", status=404)
    if record.get("visibility") != "shared":
        raise region_errors.Forbidden(self.region, "Only shared images have members.",
                                      status=403)


def _list_members(self, image_id):
    with self.cloud.lock:
        _shared(self, image_id, "list members")
        return {m: s for (i, m), s in self.cloud.members[self.region].items() if i == image_id}


def _add_member(self, image_id, project_id):
    with self.cloud.lock:
        _shared(self, image_id, "add member")
        if (image_id, project_id) in self.cloud.members[self.region]:
            raise region_errors.Conflict(self.region, "member exists", status=409)
        self.cloud.members[self.region][(image_id, project_id)] = "pending"


def _set_member_status(self, image_id, project_id, status):
    with self.cloud.lock:
        _shared(self, image_id, "set member status")
        if (image_id, project_id) not in self.cloud.members[self.region]:
            raise region_errors.NotFound(self.region, "member", status=404)
        self.cloud.members[self.region][(image_id, project_id)] = status


def _remove_member(self, image_id, project_id):
    with self.cloud.lock:
        _shared(self, image_id, "remove member")
        if self.cloud.members[self.region].pop((image_id, project_id), None) is None:
            raise region_errors.NotFound(self.region, "member", status=404)


# Glance calls of image distribution (list, JSON-patch update, members), added to the fake.
FakeImage.list_images = _list_images
FakeImage.read_images = _read_images
FakeImage.update_image = _update_image
FakeImage.list_members = _list_members
FakeImage.add_member = _add_member
FakeImage.set_member_status = _set_member_status
FakeImage.remove_member = _remove_member
