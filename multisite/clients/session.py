"""Service-credential sessions, region adapters and the errors every region client raises."""

import contextlib
import threading

import requests
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc

from multisite.clients import errors, keystone

_LOCK = threading.Lock()
_SESSIONS = {}


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
    keystone.reset_shared()


def adapter(conf, service_type, region, *, microversion=None, retries=1):
    return ks_adapter.Adapter(
        service_session(conf), service_type=service_type, region_name=region,
        interface="public", default_microversion=microversion, connect_retries=retries)


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


_HTTP = (
    (ks_exc.http.NotFound, NotFound),
    (ks_exc.http.Conflict, Conflict),
    (ks_exc.http.Forbidden, Forbidden),
    (ks_exc.http.BadRequest, BadRequest),
    (ks_exc.http.RequestEntityTooLarge, Forbidden),
)


@contextlib.contextmanager
def translate(region, what):
    """Turn keystoneauth/requests errors into RegionError subclasses naming the action."""
    try:
        yield
    except ks_exc.EndpointNotFound as exc:
        raise UnknownRegion(region, f"no endpoint for {what}") from exc
    except (ks_exc.ConnectionError, ks_exc.RequestTimeout) as exc:
        raise Unavailable(region, f"unreachable during {what}: {exc}") from exc
    except ks_exc.HttpError as exc:
        status = getattr(exc, "http_status", None)
        detail = f"{what}: HTTP {status} {exc.details or exc.message}"
        for exc_type, ours in _HTTP:
            if isinstance(exc, exc_type):
                raise ours(region, detail, status=status) from exc
        if status is not None and (status >= 500 or status == 429):
            raise Unavailable(region, detail, status=status) from exc
        raise errors.RegionRejected(region, detail, status=status) from exc
    except ks_exc.ClientException as exc:
        raise Unavailable(region, f"{what}: {exc}") from exc
    except requests.exceptions.RequestException as exc:
        raise Unavailable(region, f"{what}: {exc}") from exc
