"""Image sync: record, properties and data of any disk format, region to region.

Data is streamed in chunks from the source's download to the target's upload (never
the whole image in memory), hashed on the way, and the target's checksum is verified.
An `ami` image brings its `kernel_id` (aki) and `ramdisk_id` (ari) images along and
points at their copies. Without `force` the target keeps the source id, so a second
sync conflicts (409, FAILURE); with `force` the copy gets a new id, derived from the row
id so that a retry finds the copy it started instead of making another one.
"""

import hashlib
import uuid

from multisite.clients import session as region_errors
from multisite.reconcilers import PermanentError, TemporaryError

# Attributes Glance computes or reserves: never sent on create.
READ_ONLY = frozenset({
    "id", "status", "created_at", "updated_at", "size", "virtual_size", "checksum",
    "os_hash_algo", "os_hash_value", "file", "schema", "self", "direct_url", "locations",
    "stores", "owner", "kernel_id", "ramdisk_id",
})
DEPENDENCIES = ("kernel_id", "ramdisk_id")
NAMESPACE = uuid.UUID("5d8bb0b6-1f38-4c4b-9a52-2f4f3e6c1b90")

CREATE = "create"
UPLOAD = "upload"
WAIT = "wait"


def target_id(source_id, *, force, row_id):
    """The id of the copy: the source id, or (force) a new id fixed by the row."""
    if not force:
        return source_id
    return str(uuid.uuid5(NAMESPACE, f"{row_id}:{source_id}"))


def create_attributes(source, *, new_id, dependencies):
    """The create body of the copy: every attribute but the computed ones."""
    body = {k: v for k, v in source.items()
            if k not in READ_ONLY and not k.startswith("os_glance") and v is not None}
    body["id"] = new_id
    if source.get("owner"):
        body["owner"] = source["owner"]
    for key in DEPENDENCIES:
        if source.get(key):
            body[key] = dependencies[key]
    return body


def matches(source, observed):
    """The target holds the same data as the source (by the hashes Glance computed)."""
    if observed.get("status") != "active":
        return False
    if source.get("checksum") and observed.get("checksum") != source["checksum"]:
        return False
    if (source.get("os_hash_value") and observed.get("os_hash_algo") == source.get("os_hash_algo")
            and observed.get("os_hash_value") != source["os_hash_value"]):
        return False
    return observed.get("size") == source.get("size")


def plan(source, observed, *, ours, shared=False):
    """(actions, conflict); no I/O. `ours`: this row created `observed` earlier.

    `shared` is for kernel/ramdisk dependencies, which several images may point at: an
    identical existing copy is reused instead of being a conflict.
    """
    if observed is None:
        return [CREATE, UPLOAD], None
    if (ours or shared) and matches(source, observed):
        return [], None
    if not ours:
        return [], f"image {observed['id']} already exists in the target region (409)"
    status = observed.get("status")
    if status == "queued":
        return [UPLOAD], None
    if status in ("saving", "uploading", "importing"):
        return [WAIT], None
    return [], (f"image {observed['id']} in the target is {status} and does not match "
                "the source")


class HashingChunks:
    """The chunks of an image's data as they pass to the target's upload, counted and
    (unless `hashed` is false) hashed with MD5, the checksum Glance records. An iterable,
    not a file: the upload sends each chunk as it comes (a file-like body would be read
    in blocks of a few KiB, a Python call each). The target's own MD5 and
    `os_hash_value` are compared with the source's after the upload (`matches`), so no
    second hash is computed here."""

    def __init__(self, chunks, *, hashed=True):
        self._chunks = chunks
        self.md5 = hashlib.md5(usedforsecurity=False) if hashed else None
        self.size = 0

    def __iter__(self):
        for chunk in self._chunks:
            if self.md5 is not None:
                self.md5.update(chunk)
            self.size += len(chunk)
            yield chunk


def _get(client, image_id):
    try:
        return client.get_image(image_id)
    except region_errors.NotFound:
        return None


def _copy_data(source_client, target_client, source, new_id):
    with source_client.download(source["id"]) as chunks:
        reader = HashingChunks(chunks)
        target_client.upload(new_id, reader, size=source.get("size"))
    if source.get("checksum") and reader.md5.hexdigest() != source["checksum"]:
        raise TemporaryError(f"data of image {source['id']} read from the source does not "
                             "match its checksum")
    if reader.size != source.get("size"):
        raise TemporaryError(f"read {reader.size} bytes of image {source['id']}, "
                             f"expected {source.get('size')}")


def sync_one(item, regions, record_target, source, *, dependencies, shared=False):
    """Copy one image (record and data) and verify it; returns the target id."""
    if source.get("status") != "active":
        raise PermanentError(f"image {source['id']} is {source.get('status')} in "
                             f"{item['source_region']}, not active")
    source_client = regions.image(item["source_region"])
    target = regions.image(item["target_region"])
    new_id = target_id(source["id"], force=item["force"], row_id=item["id"])
    observed = _get(target, new_id)
    recorded = (item.get("target_id") or "").split(",")
    ours = item["force"] or new_id in recorded
    actions, conflict = plan(source, observed, ours=ours, shared=shared)
    if conflict:
        raise PermanentError(conflict)
    if WAIT in actions:
        raise TemporaryError(f"image {new_id} is {observed['status']} in the target", delay=10)
    if CREATE in actions:
        record_target(new_id)
        try:
            target.create_image(create_attributes(source, new_id=new_id,
                                                  dependencies=dependencies))
        except region_errors.Conflict as exc:
            raise PermanentError(f"image {new_id} already exists in the target region "
                                 f"(409): {exc}") from exc
    if UPLOAD in actions:
        _copy_data(source_client, target, source, new_id)
        copied = target.get_image(new_id)
        if not matches(source, copied):
            target.delete_image(new_id)
            raise PermanentError(
                f"image {new_id} in the target failed verification (status "
                f"{copied.get('status')}, checksum {copied.get('checksum')} vs "
                f"{source.get('checksum')}); the copy was deleted")
    return new_id


def apply(item, regions, record_target):
    source_client = regions.image(item["source_region"])
    try:
        source = source_client.get_image(item["resource"])
    except region_errors.NotFound as exc:
        raise PermanentError(f"image {item['resource']} not found in "
                             f"{item['source_region']}") from exc
    recorded = [x for x in (item.get("target_id") or "").split(",") if x]

    def record(new_id):
        if new_id not in recorded:
            recorded.append(new_id)
        record_target(",".join(recorded))

    dependencies = {}
    for key in DEPENDENCIES:
        dep_id = source.get(key)
        if not dep_id:
            continue
        try:
            dep = source_client.get_image(dep_id)
        except region_errors.NotFound as exc:
            raise PermanentError(f"{key} {dep_id} of image {source['id']} not found in "
                                 f"{item['source_region']}") from exc
        dependencies[key] = sync_one(dict(item, target_id=",".join(recorded)), regions,
                                     record, dep, dependencies={}, shared=True)
    return sync_one(dict(item, target_id=",".join(recorded)), regions, record, source,
                    dependencies=dependencies)


def check_source(regions, *, region, resource, user_id, project_id):
    """(visible, None): may the project sync image `resource` of the source region?

    The service user sees every image; the caller may sync only what it can read: its
    own, public and community images, and shared ones it accepted.
    """
    client = regions.image(region)
    try:
        image = client.get_image(resource)
    except (region_errors.NotFound, region_errors.BadRequest):
        return False, None
    if image.get("owner") == project_id:
        return True, None
    if image.get("visibility") in ("public", "community"):
        return True, None
    if image.get("visibility") == "shared":
        try:
            member = client.get_member(image["id"], project_id)
        except region_errors.NotFound:
            return False, None
        return member.get("status") == "accepted", None
    return False, None
