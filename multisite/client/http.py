"""One HTTP layer for every manager: endpoint, identity headers, typed errors."""

import json
import re
import urllib.parse

from keystoneauth1 import exceptions as ksa_exc
from keystoneauth1 import session as ksa_session

from multisite.client import exceptions

SERVICE_TYPE = "synchronization"
API_VERSION = "v1.0"
_VERSIONED = re.compile(r"/v\d+(\.\d+)?$")


def normalize_endpoint(url, version=API_VERSION):
    """The versioned base URL: ``http://h:8118`` and ``http://h:8118/v1.0/`` both work."""
    url = url.rstrip("/")
    if _VERSIONED.search(url):
        return url
    return f"{url}/{version}"


def page_params(all_projects=False, limit=None, marker=None, **filters):
    """Query parameters of a /v2 list: its filters (empty ones left out), then
    `all_projects`, `limit` and `marker` as the API spells them."""
    params = {k: v for k, v in filters.items() if v}
    if all_projects:
        params["all_projects"] = "true"
    if limit is not None:
        params["limit"] = str(limit)
    if marker:
        params["marker"] = marker
    return params


class HTTPClient:
    """Requests against ``<endpoint>/<project_id>/...``.

    Three ways to authenticate, like every OpenStack client library:
    a keystoneauth ``session`` (token and catalog from Keystone), a bare
    ``token`` plus ``endpoint``, or neither: the server runs with
    ``auth_strategy = noauth`` and trusts the X-Project-Id/X-User-Id/X-Roles
    headers sent from ``project_id``/``user_id``/``roles``.
    """

    def __init__(self, *, session=None, endpoint=None, token=None, project_id=None,
                 user_id=None, roles=None, service_type=SERVICE_TYPE, interface="public",
                 region_name=None, verify=True, timeout=None):
        self.authenticated = session is not None and session.auth is not None
        self.session = session or ksa_session.Session(verify=verify, timeout=timeout)
        self.token = token
        self.user_id = user_id
        self.roles = list(roles or [])
        self._endpoint = normalize_endpoint(endpoint) if endpoint else None
        self._project_id = project_id
        self.service_type = service_type
        self.interface = interface
        self.region_name = region_name

    @property
    def endpoint(self):
        if self._endpoint is None:
            if not self.authenticated:
                raise exceptions.EndpointNotFound(
                    "No Multisite endpoint: give --os-multisite-url (endpoint=...) or "
                    "authenticate against Keystone to use the catalog")
            url = self._call_keystone(self.session.get_endpoint, service_type=self.service_type,
                                      interface=self.interface, region_name=self.region_name)
            if not url:
                raise exceptions.EndpointNotFound(
                    f"No {self.interface} endpoint of service type {self.service_type!r} "
                    "in the Keystone catalog")
            self._endpoint = normalize_endpoint(url)
        return self._endpoint

    @property
    def project_id(self):
        if self._project_id is None and self.authenticated:
            self._project_id = self._call_keystone(self.session.get_project_id)
        if not self._project_id:
            raise exceptions.ClientException(
                "No project: authenticate with a project-scoped token or give a project id")
        return self._project_id

    def _call_keystone(self, func, **kwargs):
        try:
            return func(**kwargs)
        except ksa_exc.EndpointNotFound as exc:
            raise exceptions.EndpointNotFound(str(exc)) from None
        except ksa_exc.Unauthorized as exc:
            raise exceptions.Unauthorized(f"Keystone refused the credentials: {exc}",
                                          status=401) from None
        except ksa_exc.ConnectFailure:
            raise exceptions.ConnectionFailed("Cannot reach Keystone (connection failed)") from None
        except ksa_exc.ClientException as exc:
            raise exceptions.ClientException(f"Keystone error: {exc}") from None

    def _headers(self):
        headers = {"Accept": "application/json"}
        if self.token:
            headers["X-Auth-Token"] = self.token
        if not self.authenticated:
            # noauth servers take the identity from these headers; a token
            # server ignores them (keystonemiddleware overwrites them).
            headers["X-Project-Id"] = self.project_id
            if self.user_id:
                headers["X-User-Id"] = self.user_id
            if self.roles:
                headers["X-Roles"] = ",".join(self.roles)
        return headers

    def request(self, method, path, *, body=None, params=None, project_scoped=True,
                version=None):
        """The response of ``method`` on ``path``; a typed error for any 4xx/5xx.

        ``version="v2"``: ``path`` is under ``<root>/v2`` (no project in the URL).
        """
        if version is not None:
            url = _VERSIONED.sub("", self.endpoint) + f"/{version}" + path
        else:
            url = self.endpoint + (f"/{self.project_id}" if project_scoped else "") + path
        kwargs = {"headers": self._headers(), "raise_exc": False,
                  "authenticated": True if self.authenticated else False}
        if body is not None:
            kwargs["json"] = body
        if params:
            kwargs["params"] = params
        try:
            response = self.session.request(url, method, **kwargs)
        except ksa_exc.ConnectTimeout:
            raise exceptions.ConnectionFailed(
                f"Timed out connecting to Multisite at {self.endpoint}") from None
        except ksa_exc.ConnectFailure:
            raise exceptions.ConnectionFailed(
                f"Cannot reach Multisite at {self.endpoint} (connection failed)") from None
        except ksa_exc.ClientException as exc:
            raise exceptions.ClientException(f"Request to {url} failed: {exc}") from None
        if response.status_code >= 400:
            raise exceptions.from_response(
                response.status_code, decode(response),
                request_id=response.headers.get("x-openstack-request-id"))
        return response

    def json(self, method, path, **kwargs):
        return decode(self.request(method, path, **kwargs))

    def v2_collection(self, path, key, params=None, *, limit=None):
        """Every item of a /v2 collection, following its ``next`` links (at most ``limit``
        items when given)."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        items = []
        while True:
            body = self.json("GET", path, params=params, version="v2")
            items.extend(body[key])
            nexts = [link["href"] for link in body.get("links", ()) if link["rel"] == "next"]
            if not nexts or (limit is not None and len(items) >= limit):
                return items[:limit] if limit is not None else items
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(nexts[0]).query)
            params = {k: v[-1] for k, v in query.items()}


def decode(response):
    """The JSON body, else the text body, else None; never raw bytes."""
    if not response.content:
        return None
    try:
        return response.json()
    except (ValueError, json.JSONDecodeError):
        return response.content.decode("utf-8", errors="replace")
