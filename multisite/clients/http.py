"""The HTTP path to the regions (quota engine, probes, sync jobs and policies):
keystoneauth for the token, clients.wire for the request.

A periodic rebalance makes three reads (and up to three writes) per project and region,
so every region call's CPU cost bounds how many projects one engine process can
rebalance per second (the engine is GIL-bound long before a region is busy). Measured on
the benchmark's target: a keystoneauth `Session.request` costs about 0.75 ms of CPU per
call, a pooled urllib3 request about 0.35 ms, the same request through clients.wire
(pooled keep-alive connections, headers prepared once per token) about 0.1 ms
(`bench/quota_rebalance.py` prints the engine's CPU per call).

keystoneauth still owns the identity: the token comes from the shared service session
(`get_auth_headers`, which re-authenticates before expiry) and a 401 invalidates it and
retries once with a fresh one. Errors are the same RegionError classes as elsewhere.

TLS is verified against the same CA bundle requests would use (REQUESTS_CA_BUNDLE or
CURL_CA_BUNDLE if set, else certifi's). When a proxy variable is set the calls go through
the keystoneauth session instead, so that proxies and no_proxy apply exactly as requests
applies them.
"""

import hashlib
import json as jsonlib
import logging
import os
import threading
import time

from keystoneauth1 import exceptions as ks_exc

from multisite import metrics
from multisite.clients import errors, wire

LOG = logging.getLogger(__name__)

TOKEN_RECHECK = 30.0
_PROXY_VARIABLES = frozenset(("http_proxy", "https_proxy", "all_proxy"))


def ca_bundle(environ=None):
    """The CA bundle requests would verify against."""
    environ = os.environ if environ is None else environ
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if environ.get(name):
            return environ[name]
    import certifi

    return certifi.where()


def proxied(environ=None):
    environ = os.environ if environ is None else environ
    return any(name.lower() in _PROXY_VARIABLES and value for name, value in environ.items())


_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def header_lines(headers):
    """Header lines as bytes, each ending in CRLF (values as http.client encodes them)."""
    lines = []
    for name, value in headers.items():
        value = str(value)
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise ValueError(f"invalid header {name!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


class Response:
    __slots__ = ("status_code", "data")

    def __init__(self, status_code, data):
        self.status_code = status_code
        self.data = data

    @property
    def text(self):
        return self.data.decode("utf-8", "replace")

    def json(self):
        return jsonlib.loads(self.data)


class Listing:
    """A list call's answer as read: `digest` of its body, `items` parsed on first use.

    Equal bodies have equal digests, so a periodic audit that derived something from the
    last answer of the same call reuses it when the digest is unchanged, without parsing
    the body again (nothing changed: the common case). `parse(body)` makes the items; a
    list read in pages (`pages`) has one digest over every page, items in page order."""

    __slots__ = ("digest", "_bodies", "_parse", "_items")

    def __init__(self, body, parse):
        self.digest = hashlib.blake2b(body, digest_size=16).digest()
        self._bodies, self._parse, self._items = (body,), parse, None

    @classmethod
    def pages(cls, bodies, parse):
        """A Listing of a list read in several pages (`parse` makes one page's items).
        Each page's length goes into the digest before it: the same bytes split into
        other pages are another answer."""
        if len(bodies) == 1:
            return cls(bodies[0], parse)
        digest = hashlib.blake2b(digest_size=16)
        for body in bodies:
            digest.update(len(body).to_bytes(8, "big"))
            digest.update(body)
        listing = cls(b"", parse)
        listing.digest, listing._bodies = digest.digest(), tuple(bodies)
        return listing

    @classmethod
    def of(cls, items):
        """A Listing of items already parsed (in-memory regions): the digest of their
        canonical JSON."""
        listing = cls(jsonlib.dumps(items, sort_keys=True, default=str).encode(), None)
        listing._items, listing._bodies = items, None
        return listing

    @property
    def items(self):
        if self._bodies is not None:
            if len(self._bodies) == 1:
                self._items = self._parse(self._bodies[0])
            else:
                self._items = [item for body in self._bodies for item in self._parse(body)]
            self._bodies = None
        return self._items


class Transport:
    """Pooled HTTP calls to the regions with the service session's token.

    `maxsize` connections are kept per region host and port; `timeout` (seconds) bounds
    connecting and each read.
    """

    def __init__(self, session, *, maxsize=10, timeout=10.0, user_agent="multisite",
                 environ=None):
        self.session = session
        self.timeout = timeout
        self.via_session = proxied(environ)
        self._pool = wire.Pool(maxsize=maxsize, timeout=timeout,
                               ca_certs=ca_bundle(environ))
        self._headers_lock = threading.Lock()
        self._headers = None
        self._user_agent = user_agent
        self._extra = {}       # header lines of each extra headers dict, by its items

    def _auth_headers(self, *, refresh=False):
        now = time.monotonic()
        with self._headers_lock:
            if refresh:
                self.session.invalidate()
                self._headers = None
            if self._headers is None or now >= self._headers[0]:
                # keystoneauth renews the token when it has under 120 s left; asking it
                # again every 30 s means a call never carries a token with under 90 s.
                try:
                    auth = self.session.get_auth_headers()
                except ks_exc.ClientException as exc:
                    raise errors.RegionUnavailable("keystone",
                                                   f"service token: {exc}") from exc
                if not auth:
                    raise errors.RegionUnavailable("keystone", "no service token")
                base = {**_JSON, "User-Agent": self._user_agent, **auth}
                self._headers = (now + TOKEN_RECHECK, base, header_lines(base))
            return self._headers[1:]

    def _lines(self, base, base_lines, headers):
        """The header lines of `base` updated with the call's `headers`."""
        if not headers:
            return base_lines
        key = tuple(headers.items())
        extra = self._extra.get(key)
        if extra is None:
            names = {name.lower() for name in base}
            # b"" marks a set that replaces a base header (e.g. a PATCH's Content-Type)
            extra = (b"" if any(name.lower() in names for name in headers)
                     else header_lines(headers))
            if len(self._extra) < 256:      # a few fixed sets (microversions, media types)
                self._extra[key] = extra
        if extra:
            return base_lines + extra
        merged = {name: value for name, value in base.items()
                  if name.lower() not in {h.lower() for h in headers}}
        return header_lines({**merged, **headers})

    def request(self, method, url, *, region, json=None, headers=None, service=None):
        """Response for one call; raises RegionUnavailable when the region cannot answer.

        Each call is counted in multisite.metrics by region, service and method.
        """
        started = time.monotonic()
        try:
            resp = self._request(method, url, region=region, json=json, headers=headers)
        except errors.RegionUnavailable:
            metrics.region_call(region, service, method, time.monotonic() - started,
                                error=True)
            raise
        metrics.region_call(region, service, method, time.monotonic() - started,
                            status=resp.status_code)
        return resp

    def _request(self, method, url, *, region, json, headers):
        if self.via_session:
            return self._through_session(method, url, region=region, json=json,
                                         headers=headers)
        body = None if json is None else jsonlib.dumps(json).encode()
        for attempt in (0, 1):
            base, base_lines = self._auth_headers(refresh=attempt == 1)
            lines = self._lines(base, base_lines, headers)
            try:
                status, data = self._pool.request(method, url, headers=lines, body=body)
            except (OSError, ValueError) as exc:
                raise errors.RegionUnavailable(region, f"{method} {url}: {exc}") from exc
            if status != 401 or attempt:
                return Response(status, data)
            LOG.info("Region %s refused the service token (401); re-authenticating", region)
        raise AssertionError("unreachable")

    def _through_session(self, method, url, *, region, json, headers):
        try:
            resp = self.session.request(url, method, json=json, headers=headers,
                                        raise_exc=False, connect_retries=0,
                                        timeout=self.timeout)
        except ks_exc.ClientException as exc:
            raise errors.RegionUnavailable(region, f"{method} {url}: {exc}") from exc
        return Response(resp.status_code, resp.content)
