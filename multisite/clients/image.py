"""Glance v2 in one region: image records, members and streamed data, service credentials."""

import collections
import contextlib
import json as jsonlib
import logging
import threading
import time
from urllib import parse

from multisite.clients import http, session

CHUNK_SIZE = 1024 * 1024
PATCH_TYPE = "application/openstack-images-v2.1-json-patch"

_LOCK = threading.Lock()
# Image creates made by this process, per region: tests and benchmarks read it to show
# that many requests for one copy made exactly one.
CREATES = collections.Counter()


def creates(region=None):
    """Image creates counted so far (in `region`, or every region)."""
    with _LOCK:
        return sum(n for r, n in CREATES.items() if region is None or r == region)


def _parse_images(body):
    return jsonlib.loads(body).get("images", [])


LOG = logging.getLogger(__name__)


def paused_after(chunks, after, what):
    """Test hook ([image_distribution] test_pause_after_bytes): passes the chunks on until
    `after` bytes are through, then stops for an hour, so that a test can kill the engine
    with an upload half done."""
    passed = 0
    for chunk in chunks:
        yield chunk
        passed += len(chunk)
        if passed >= after:
            LOG.warning("TEST HOOK: paused the upload of %s after %d bytes", what, passed)
            time.sleep(3600)


class ImageClient:
    """The calls the image reconciler needs, in one region."""

    def __init__(self, conf, region):
        self.region = region
        self._conf = conf
        self._api = session.PooledApi(conf, "image", region)
        # Data is streamed through keystoneauth; an upload body can be read once: never
        # resend it.
        self._stream = session.adapter(conf, "image", region, retries=0)
        self._base = None

    def _url(self, path):
        if self._base is None:
            self._base = session.versioned_endpoint(self._api, self.region, "image", "v2")
        return self._base + path

    def get_image(self, image_id):
        with session.translate(self.region, f"get image {image_id}"):
            return self._api.get(self._url(f"/images/{parse.quote(image_id)}")).json()

    def get_member(self, image_id, project_id):
        path = f"/images/{parse.quote(image_id)}/members/{parse.quote(project_id)}"
        with session.translate(self.region, f"get member {project_id} of image {image_id}"):
            return self._api.get(self._url(path)).json()

    def list_members(self, image_id):
        """{member project id: status} of a shared image."""
        with session.translate(self.region, f"list members of image {image_id}"):
            body = self._api.get(self._url(f"/images/{parse.quote(image_id)}/members")).json()
        return {m["member_id"]: m.get("status") for m in body.get("members", [])}

    def add_member(self, image_id, project_id):
        with session.translate(self.region, f"add member {project_id} to image {image_id}"):
            self._api.post(self._url(f"/images/{parse.quote(image_id)}/members"),
                           json={"member": project_id})

    def set_member_status(self, image_id, project_id, status):
        """accepted/rejected/pending; Glance lets the member or an admin (the service user)
        change it, never the owner."""
        path = f"/images/{parse.quote(image_id)}/members/{parse.quote(project_id)}"
        with session.translate(self.region, f"set member {project_id} of image {image_id}"):
            self._api.put(self._url(path), json={"status": status})

    def remove_member(self, image_id, project_id):
        path = f"/images/{parse.quote(image_id)}/members/{parse.quote(project_id)}"
        with session.translate(self.region,
                               f"remove member {project_id} of image {image_id}"):
            self._api.delete(self._url(path))

    def create_image(self, attributes):
        with _LOCK:
            CREATES[self.region] += 1
        with session.translate(self.region, f"create image {attributes.get('id', '')}"):
            return self._api.post(self._url("/images"), json=attributes).json()

    def list_images(self, **filters):
        """Every image matching `filters` (Glance query parameters, e.g. owner=...), all
        pages: one call per 1,000 images (Glance's default api_limit_max)."""
        return self.read_images(**filters).items

    def read_images(self, **filters):
        """The same calls as an http.Listing over every page. A page's JSON is decoded
        here only if it may link a next page (Glance adds `next` when there is one)."""
        bodies, url = [], self._url("/images?" + parse.urlencode(dict(filters, limit=1000)))
        while url:
            with session.translate(self.region, "list images"):
                body = self._api.get(url).data
            bodies.append(body)
            nxt = jsonlib.loads(body).get("next") if b'"next"' in body else None
            url = self._base.rsplit("/v2", 1)[0] + nxt if nxt else None
        return http.Listing.pages(bodies, _parse_images)

    def update_image(self, image_id, operations):
        """Apply JSON-patch `operations` ([{"op", "path", "value"}]) to an image record."""
        with session.translate(self.region, f"update image {image_id}"):
            return self._api.patch(self._url(f"/images/{parse.quote(image_id)}"),
                                   json=operations,
                                   headers={"Content-Type": PATCH_TYPE}).json()

    def delete_image(self, image_id):
        with session.translate(self.region, f"delete image {image_id}"):
            self._api.delete(self._url(f"/images/{parse.quote(image_id)}"))

    @contextlib.contextmanager
    def download(self, image_id, *, chunk_size=CHUNK_SIZE):
        """An iterator over the image data in chunks; nothing is held beyond one chunk."""
        url = self._url(f"/images/{parse.quote(image_id)}/file")
        with session.translate(self.region, f"download image {image_id}"):
            resp = self._stream.get(url, stream=True,
                                 headers={"Accept": "application/octet-stream"})
        try:
            yield _translated_iter(resp.iter_content(chunk_size), self.region, image_id)
        finally:
            resp.close()

    def upload(self, image_id, chunks, *, size):
        """PUT the data given as an iterable of byte chunks (`size` bytes in all): each
        chunk is sent as it comes, nothing is buffered."""
        url = self._url(f"/images/{parse.quote(image_id)}/file")
        headers = {"Content-Type": "application/octet-stream"}
        pause = self._conf.image_distribution.test_pause_after_bytes   # TEST ONLY; 0: off
        if pause:
            chunks = paused_after(chunks, pause, f"image {image_id} to {self.region}")
        body = chunks
        if size is not None:
            headers["Content-Length"] = str(size)
            body = _Sized(chunks, size)
        with session.translate(self.region, f"upload image {image_id}"):
            self._stream.put(url, data=body, headers=headers)


class _Sized:
    """An iterable body of known length. requests sends an iterable without a length as
    `Transfer-Encoding: chunked` (even beside a Content-Length header), and a file-like
    body in blocks of 16 KiB: this sends each chunk whole, with the length Glance expects
    (the image's size, which Glance checks)."""

    def __init__(self, chunks, size):
        self._chunks, self._size = chunks, size

    def __iter__(self):
        return iter(self._chunks)

    def __len__(self):
        return self._size


def _translated_iter(chunks, region, image_id):
    with session.translate(region, f"read data of image {image_id}"):
        yield from chunks


def for_region(conf, region):
    """The image client of `region` (tests replace this with an in-memory cloud)."""
    return ImageClient(conf, region)
