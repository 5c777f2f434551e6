"""Service-credential sessions, region adapters and the errors every region client raises."""

import contextlib
import json as jsonlib
import threading

import requests
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc

from multisite.clients import errors, http, keystone

_LOCK = threading.Lock()
_SESSIONS = {}
_TRANSPORTS = {}
_CATALOGS = {}


class NotFound(errors.RegionRejected):
    pass


class Conflict(errors.RegionRejected):
    pass


class Forbidden(errors.RegionRejected):
    pass


class BadRequest(errors.RegionRejected):
    pass


class UnknownRegion(errors.RegionRejected):
    """The region has no endpoint for the service in the catalog."""


Unavailable = errors.RegionUnavailable
RegionError = errors.RegionError


def service_session(conf):
    """The process-wide session with Multisite's [cache] service credentials.

    Built by clients.keystone (names or ids accepted); keystoneauth re-authenticates
    before the token expires, so a long job never depends on a user's token.
    """
    cache = conf.cache
    key = (cache.auth_uri or cache.identity_uri, cache.admin_username, cache.admin_tenant)
    with _LOCK:
        sess = _SESSIONS.get(key)
        if sess is None:
            try:
                sess = _SESSIONS[key] = keystone.shared_session(conf, pool_size=32)
            except errors.ServiceCredentialsError as exc:
                raise Unavailable("keystone", str(exc)) from exc
        return sess


def reset():
    with _LOCK:
        _SESSIONS.clear()
        _TRANSPORTS.clear()
        _CATALOGS.clear()
    keystone.reset_shared()


def transport(conf):
    """The process-wide pooled transport (clients.http) over the service session.

    The sync jobs' and policies' JSON calls go through it, as the quota engine's do: a
    keystoneauth adapter call costs several times the CPU of a pooled transport request,
    and a policy audit makes thousands of list calls per pass.
    """
    sess = service_session(conf)
    with _LOCK:
        held = _TRANSPORTS.get(id(sess))
        if held is None or held[0] is not sess:
            held = _TRANSPORTS[id(sess)] = (sess, http.Transport(
                sess, maxsize=32, timeout=conf.cache.region_timeout,
                user_agent="multisite-sync"))
        return held[1]


def project_session(conf, project_id):
    """The service user's session scoped to `project_id` (clients.keystone.project_session);
    Keystone refusing the scope is a rejection, Keystone unreachable a RegionUnavailable."""
    try:
        return keystone.project_session(conf, project_id)
    except errors.ServiceCredentialsError as exc:
        if "unreachable" in str(exc):
            raise Unavailable("keystone", str(exc)) from exc
        raise errors.RegionRejected("keystone", str(exc), status=401) from exc


class Adapter(ks_adapter.Adapter):
    """keystoneauth's Adapter, but a POST or PATCH is never sent twice.

    keystoneauth turns every requests Timeout, a *read* timeout included, into a retriable
    ConnectTimeout: with connect_retries, a create the region received but answered late
    was sent again (seen on the devcloud: every Cinder snapshot of a checkpoint created
    twice under load). A create's retry belongs to its caller, who can look first."""

    def request(self, url, method, **kwargs):
        if method.upper() in ("POST", "PATCH"):
            kwargs["connect_retries"] = 0
        return super().request(url, method, **kwargs)


def adapter(conf, service_type, region, *, microversion=None, retries=1, project_id=None):
    """A region's adapter over the service session, or over the service user's session
    scoped to `project_id` (what it creates belongs to that project)."""
    sess = service_session(conf) if project_id is None else project_session(conf, project_id)
    return Adapter(
        sess, service_type=service_type, region_name=region,
        interface="public", default_microversion=microversion, connect_retries=retries)


class Unreachable(Exception):
    """A PooledApi call that got no answer; `translate` names the action."""


class HTTPStatus(Exception):
    """A region's 4xx/5xx answer to a PooledApi call; `translate` maps it to RegionError."""

    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.message = _message(body)


def _message(body):
    """The message of an OpenStack error body ({"itemNotFound": {"message": ...}},
    {"NeutronError": {"message": ...}}, {"error": {"message": ...}}), else its start."""
    try:
        data = jsonlib.loads(body)
    except ValueError:
        return body[:200]
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return value["message"]
        if isinstance(data.get("message"), str):
            return data["message"]
    return body[:200]


def _ks_message(exc):
    """The service's own message of a keystoneauth HttpError. keystoneauth reads only
    {"error": {...}} and {"errors": [...]} bodies; Nova's and Cinder's
    {"badRequest": {"message": ...}} become "Unrecognized schema in response body."."""
    if exc.details:
        return exc.details
    response = getattr(exc, "response", None)
    text = getattr(response, "text", None) if response is not None else None
    if text:
        message = _message(text)
        if message:
            return message
    return exc.message


class PooledApi:
    """JSON calls to one service of one region through the pooled transport.

    The same surface as the keystoneauth adapter calls the region clients make (get,
    post, put, delete with a path or a full URL, `.json()` on the answer); the catalog
    endpoint is read once. A 4xx/5xx answer raises HTTPStatus, which `translate` turns
    into the same RegionError classes (and messages) as before.
    """

    def __init__(self, conf, service_type, region, *, microversion=None):
        self.conf, self.service_type, self.region = conf, service_type, region
        self._adapter = adapter(conf, service_type, region)
        self._endpoint = None
        self._transport = None
        self._headers = None
        if microversion is not None:
            service = service_type
            self._headers = {"OpenStack-API-Version": f"{service} {microversion}"}
            if service_type == "compute":
                self._headers["X-OpenStack-Nova-API-Version"] = microversion

    def get_endpoint(self):
        if self._endpoint is None:
            self._endpoint = self._adapter.get_endpoint()
        return self._endpoint

    def request(self, method, path, json=None, headers=None):
        if "://" in path:
            url = path
        else:
            endpoint = self.get_endpoint()
            if endpoint is None:
                raise UnknownRegion(self.region, f"no {self.service_type} endpoint")
            url = endpoint.rstrip("/") + path
        try:
            if self._transport is None:
                self._transport = transport(self.conf)
            if headers and self._headers:
                headers = {**self._headers, **headers}
            resp = self._transport.request(method, url, region=self.region, json=json,
                                           headers=headers or self._headers,
                                           service=self.service_type)
        except errors.RegionUnavailable as exc:
            detail = str(exc)
            if exc.region == self.region:
                detail = detail.removeprefix(f"{self.region}: ")
            raise Unreachable(detail) from exc
        if resp.status_code >= 400:
            raise HTTPStatus(resp.status_code, resp.text)
        return resp

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, json=None):
        return self.request("POST", path, json=json)

    def put(self, path, json=None):
        return self.request("PUT", path, json=json)

    def patch(self, path, json=None, headers=None):
        """PATCH with the caller's Content-Type (e.g. Glance's JSON-patch media type)."""
        return self.request("PATCH", path, json=json, headers=headers)

    def delete(self, path):
        return self.request("DELETE", path)


def versioned_endpoint(api, region, service, version):
    """The catalog endpoint of `api` (an adapter) ending in `/version` (added if absent)."""
    with translate(region, f"find the {service} endpoint"):
        endpoint = api.get_endpoint()
    if endpoint is None:
        raise UnknownRegion(region, f"no {service} endpoint")
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/" + version) else f"{endpoint}/{version}"


def regions(conf, service_type=None):
    """Region ids that have a public endpoint (of service_type, if given) in the catalog."""
    sess = service_session(conf)
    with translate("keystone", "read the catalog"):
        catalog = sess.auth.get_access(sess).service_catalog
    found = set()
    for service in catalog.catalog:
        if service_type and service.get("type") != service_type:
            continue
        for endpoint in service.get("endpoints", []):
            if endpoint.get("interface") == "public":
                found.add(endpoint.get("region_id") or endpoint.get("region"))
    found.discard(None)
    return found


def project_regions(conf, project_id):
    """The project's regions as the quota engine reads them: its OS-EP-FILTER endpoints
    if it has any, else every public region. Re-read from Keystone every [cache]
    catalog_ttl (GET /auth/catalog), so a region added to the catalog, or to the
    project's endpoint filter, is seen without a restart."""
    sess, pooled = service_session(conf), transport(conf)
    key = (id(sess), conf.cache.catalog_ttl)
    with _LOCK:
        held = _CATALOGS.get(key)
        if held is None or held[0] is not sess:
            held = _CATALOGS[key] = (sess, keystone.Catalog(
                sess, ttl=conf.cache.catalog_ttl, http=pooled))
    with translate("keystone", "read the catalog"):
        return set(held[1].regions_for(project_id))


_HTTP = (
    (ks_exc.http.NotFound, NotFound),
    (ks_exc.http.Conflict, Conflict),
    (ks_exc.http.Forbidden, Forbidden),
    (ks_exc.http.BadRequest, BadRequest),
    (ks_exc.http.RequestEntityTooLarge, Forbidden),
)
_STATUS = {404: NotFound, 409: Conflict, 403: Forbidden, 400: BadRequest, 413: Forbidden}


def _rejected(region, detail, status, cause):
    ours = _STATUS.get(status)
    if ours is not None:
        raise ours(region, detail, status=status) from cause
    if status is not None and (status >= 500 or status == 429):
        raise Unavailable(region, detail, status=status) from cause
    raise errors.RegionRejected(region, detail, status=status) from cause


@contextlib.contextmanager
def translate(region, what):
    """Turn keystoneauth/requests errors into RegionError subclasses naming the action."""
    try:
        yield
    except ks_exc.EndpointNotFound as exc:
        raise UnknownRegion(region, f"no endpoint for {what}") from exc
    except (ks_exc.ConnectionError, ks_exc.RequestTimeout) as exc:
        raise Unavailable(region, f"unreachable during {what}: {exc}") from exc
    except Unreachable as exc:
        raise Unavailable(region, f"unreachable during {what}: {exc}") from exc
    except HTTPStatus as exc:
        _rejected(region, f"{what}: HTTP {exc.status} {exc.message}", exc.status, exc)
    except ks_exc.HttpError as exc:
        status = getattr(exc, "http_status", None)
        detail = f"{what}: HTTP {status} {_ks_message(exc)}"
        for exc_type, ours in _HTTP:
            if isinstance(exc, exc_type):
                raise ours(region, detail, status=status) from exc
        _rejected(region, detail, status, exc)
    except ks_exc.ClientException as exc:
        raise Unavailable(region, f"{what}: {exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise Unavailable(region, f"{what}: {exc}") from exc
