"""Service session from [cache] credentials; regions and projects from Keystone."""

import logging
import os
import re
import threading
import time

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from multisite.clients import errors

LOG = logging.getLogger(__name__)

# Keystone catalog types of each service (block-storage has had many names).
SERVICE_TYPES = {
    "nova": ("compute",),
    "cinder": ("block-storage", "volumev3", "volumev2", "volume"),
    "neutron": ("network",),
    "glance": ("image",),
}

_ID = re.compile(r"^[0-9a-f]{32}$|^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.I)


def looks_like_id(value):
    return bool(value) and (bool(_ID.match(value)) or value == "default")


def _auth_variants(conf):
    """Password plugins for every reading of the names-or-ids in [cache].

    Kingbird passed admin_tenant as a project id and the *_domain_name options as domain
    ids, while its docs showed names. We accept both: the likely reading comes first and
    the other one is tried when Keystone refuses it.
    """
    c = conf.cache
    url = c.auth_uri or c.identity_uri
    if not url:
        raise errors.ServiceCredentialsError("[cache] auth_uri (or identity_uri) is not set")
    url = url.rstrip("/")
    if not url.endswith("/v3"):
        url += "/v3"

    def readings(value, name_key, id_key):
        pair = [{name_key: value}, {id_key: value}]
        return pair[::-1] if looks_like_id(value) else pair

    user_domain = c.admin_user_domain_name or "Default"
    project_domain = c.admin_project_domain_name or "Default"
    for project in readings(c.admin_tenant, "project_name", "project_id"):
        pdomains = [{}] if "project_id" in project else readings(
            project_domain, "project_domain_name", "project_domain_id")
        for udom in readings(user_domain, "user_domain_name", "user_domain_id"):
            for pdom in pdomains:
                yield v3.Password(auth_url=url, username=c.admin_username,
                                  password=c.admin_password, **project, **udom, **pdom)


# Environment variables through which requests would change a call (proxies, CA bundle).
_REQUESTS_ENVIRONMENT = frozenset((
    "http_proxy", "https_proxy", "all_proxy", "no_proxy", "requests_ca_bundle",
    "curl_ca_bundle"))


def environment_matters(environ=None):
    """True when the process environment sets a proxy or a CA bundle for requests."""
    environ = os.environ if environ is None else environ
    return any(name.lower() in _REQUESTS_ENVIRONMENT for name in environ)


def make_session(conf, *, pool_size=10):
    """An authenticated keystoneauth session; raises ServiceCredentialsError."""
    http = requests.Session()
    # requests looks the environment up again (proxies, netrc, CA bundle) on every call,
    # about a third of a region call's CPU time; skip that when nothing there applies.
    http.trust_env = environment_matters()
    adapter = requests.adapters.HTTPAdapter(pool_connections=64, pool_maxsize=pool_size)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    timeout = conf.cache.region_timeout
    last = None
    for auth in _auth_variants(conf):
        sess = ks_session.Session(auth=auth, session=http, timeout=timeout)
        try:
            auth.get_access(sess)
            return sess
        except ks_exc.Unauthorized as exc:
            last = exc
        except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.RequestTimeout) as exc:
            raise errors.ServiceCredentialsError(f"Keystone unreachable: {exc}") from exc
    raise errors.ServiceCredentialsError(f"[cache] credentials refused by Keystone: {last}")


_SHARED_LOCK = threading.Lock()
_SHARED = {}          # credentials -> _Shared


class _Shared:
    def __init__(self):
        self.session = None
        self.attempt = None       # the authentication in flight: [Event, error]


def _credentials(conf):
    c = conf.cache
    return (c.auth_uri or c.identity_uri, c.admin_username, c.admin_password,
            c.admin_tenant, c.admin_user_domain_name, c.admin_project_domain_name,
            c.region_timeout)


def shared_session(conf, *, pool_size=32):
    """The process's one service session for the [cache] credentials.

    Every client of the engine (each kind's env: quota, sync, probes, capacity, audits)
    uses this one session, so a process holds one service token: one password
    authentication when it starts and one per renewal, not one per kind, and one token
    for each region's keystonemiddleware to validate and cache. Password authentication
    is the costly call of Keystone (the password hash); several kinds authenticating at
    once, each retrying after a timeout, kept Keystone busy long enough for the quota
    kind's own calls to time out behind them.

    Single flight: a caller that arrives while an authentication is in flight waits for
    that one and takes its outcome (the session, or its error) instead of starting its
    own or queueing behind the others' retries; the next caller after a failure starts
    a new one. A process never has two password authentications in flight, and no
    caller waits for more than one.
    """
    key = _credentials(conf)
    with _SHARED_LOCK:
        shared = _SHARED.setdefault(key, _Shared())
        if shared.session is not None:
            return shared.session
        attempt, mine = shared.attempt, shared.attempt is None
        if mine:
            attempt = shared.attempt = [threading.Event(), None]
    if not mine:
        attempt[0].wait()
        with _SHARED_LOCK:
            if shared.session is not None:
                return shared.session
        raise attempt[1]
    try:
        session = make_session(conf, pool_size=pool_size)
    except Exception as exc:
        attempt[1] = exc
        with _SHARED_LOCK:
            shared.attempt = None
        attempt[0].set()
        raise
    with _SHARED_LOCK:
        shared.session, shared.attempt = session, None
    attempt[0].set()
    return session


def reset_shared():
    """Forget the shared sessions (tests; credentials changed)."""
    with _SHARED_LOCK:
        _SHARED.clear()
    with _PROJECT_LOCK:
        _PROJECT_SESSIONS.clear()


def endpoints_by_region(catalog):
    """{region: {service: public url}} for the services the engine manages."""
    out = {}
    for entry in catalog:
        service = next((s for s, types in SERVICE_TYPES.items()
                        if entry.get("type") in types), None)
        for ep in entry.get("endpoints", ()):
            if ep.get("interface") != "public":
                continue
            region = ep.get("region_id") or ep.get("region")
            if not region:
                continue
            services = out.setdefault(region, {})
            if service is None:
                continue
            rank = SERVICE_TYPES[service].index(entry["type"])
            held = services.get(service)
            if held is None or rank < held[1]:
                services[service] = (ep["url"].rstrip("/"), rank)
    return {r: {s: url for s, (url, _rank) in svcs.items()} for r, svcs in out.items()}


class Catalog:
    """Regions of each project, from the catalog and OS-EP-FILTER, cached for a TTL."""

    def __init__(self, session, *, ttl, clock=time.monotonic, http=None):
        self.session = session
        # optional clients.http.Transport: the per-project OS-EP-FILTER lookups (one per
        # project and TTL) then skip keystoneauth's per-call endpoint resolution
        self.http = http
        self._identity_url = None
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._all = None
        self._raw = []
        self._per_project = {}
        self._ep_filter = True

    def _fresh(self, stamp):
        return stamp is not None and self.clock() - stamp < self.ttl

    def all_regions(self):
        """{region: {service: url}} of every region with a public endpoint."""
        with self._lock:
            if self._all and self._fresh(self._all[1]):
                return self._all[0]
        raw = self._fetch_catalog()
        regions = endpoints_by_region(raw)
        with self._lock:
            self._all = (regions, self.clock())
            self._raw = raw
        return regions

    def raw(self):
        """The catalog's entries as last fetched (refreshed after the TTL)."""
        self.all_regions()
        with self._lock:
            return self._raw

    def _fetch_catalog(self):
        """The token's catalog at first; GET /auth/catalog when refreshing after the TTL
        (the token's own catalog does not change until the token is renewed)."""
        access = self.session.auth.get_access(self.session)
        if self._all is not None:
            try:
                resp = self.session.get("/auth/catalog", raise_exc=False,
                                        endpoint_filter={"service_type": "identity",
                                                         "interface": "public"})
                if resp.status_code == 200:
                    return resp.json().get("catalog", [])
            except ks_exc.ClientException as exc:
                LOG.warning("Catalog refresh failed, keeping the token's: %s", exc)
        return access.service_catalog.catalog

    def regions_for(self, project_id):
        """The project's regions: its endpoint-filter regions if any, else all."""
        regions = self.all_regions()
        with self._lock:
            cached = self._per_project.get(project_id)
            if cached and self._fresh(cached[1]):
                return {r: regions[r] for r in (cached[0] or regions) if r in regions}
        chosen = self._filtered(project_id)
        with self._lock:
            self._per_project[project_id] = (chosen, self.clock())
        return {r: regions[r] for r in (chosen or regions) if r in regions}

    def _identity(self):
        if self._identity_url is None:
            # the catalog's URL as is, as the keystoneauth path (endpoint_filter) uses it
            self._identity_url = self.session.get_endpoint(
                service_type="identity", interface="public").rstrip("/")
        return self._identity_url

    def _get_filter(self, project_id):
        path = f"/OS-EP-FILTER/projects/{project_id}/endpoints"
        if self.http is None:
            return self.session.get(path, endpoint_filter={"service_type": "identity",
                                                           "interface": "public"},
                                    raise_exc=False)
        return self.http.request("GET", self._identity() + path, region="keystone")

    def _filtered(self, project_id):
        if not self._ep_filter:
            return None
        try:
            resp = self._get_filter(project_id)
        except (ks_exc.ClientException, errors.RegionError) as exc:
            LOG.warning("OS-EP-FILTER lookup failed for project %s: %s", project_id, exc)
            return None
        if resp.status_code == 404 and "OS-EP-FILTER" not in (resp.text or ""):
            self._ep_filter = False  # extension not deployed
            return None
        if resp.status_code != 200:
            return None
        names = {ep.get("region_id") or ep.get("region")
                 for ep in resp.json().get("endpoints", ())}
        return sorted(n for n in names if n) or None

    def projects(self, *, enabled_only=True):
        """Ids of every (enabled) Keystone project, following pagination."""
        out = []
        url = "/projects" + ("?enabled=true" if enabled_only else "")
        while url:
            resp = self.session.get(url, endpoint_filter={"service_type": "identity",
                                                          "interface": "public"})
            body = resp.json()
            out.extend(p["id"] for p in body.get("projects", ())
                       if not enabled_only or p.get("enabled", True))
            url = (body.get("links") or {}).get("next")
        return out


_PROJECT_LOCK = threading.Lock()
_PROJECT_SESSIONS = {}    # (credentials, project id) -> session


def project_session(conf, project_id):
    """A session of the [cache] service user with a token scoped to `project_id`.

    What a region makes with it belongs to that project (Cinder's volumes, Nova's servers,
    Neutron's networks and ports take the token's project), where the service session's
    would belong to the service's own project. The service user needs a role in the
    project (grant_service_role). keystoneauth re-authenticates before the token expires.
    """
    c = conf.cache
    key = (_credentials(conf), project_id)
    with _PROJECT_LOCK:
        found = _PROJECT_SESSIONS.get(key)
    if found is not None:
        return found
    url = _v3_url(conf)
    domain = c.admin_user_domain_name or "Default"
    readings = [{"user_domain_name": domain}, {"user_domain_id": domain}]
    http = requests.Session()
    http.trust_env = environment_matters()
    last = None
    for udom in (readings[::-1] if looks_like_id(domain) else readings):
        auth = v3.Password(auth_url=url, username=c.admin_username, password=c.admin_password,
                           project_id=project_id, **udom)
        sess = ks_session.Session(auth=auth, session=http, timeout=c.region_timeout)
        try:
            auth.get_access(sess)
        except ks_exc.Unauthorized as exc:
            last = exc
            continue
        except (ks_exc.ConnectFailure, ks_exc.ConnectTimeout, ks_exc.RequestTimeout) as exc:
            raise errors.ServiceCredentialsError(f"Keystone unreachable: {exc}") from exc
        with _PROJECT_LOCK:
            return _PROJECT_SESSIONS.setdefault(key, sess)
    raise errors.ServiceCredentialsError(
        f"the service user cannot scope a token to project {project_id}: {last}")


def _v3_url(conf):
    url = (conf.cache.auth_uri or conf.cache.identity_uri or "").rstrip("/")
    if not url:
        raise errors.ServiceCredentialsError("[cache] auth_uri (or identity_uri) is not set")
    return url if url.endswith("/v3") else url + "/v3"


def grant_service_role(conf, session, project_id, role_name):
    """Give the session's user `role_name` in `project_id` (idempotent); the user's id.

    Keystone answers 204 to a grant that already exists. Raises ks_exc.NotFound when the
    role or the project does not exist."""
    url = _v3_url(conf)
    user_id = session.get_user_id()
    roles = session.get(f"{url}/roles?name={role_name}").json()["roles"]
    if not roles:
        raise ks_exc.NotFound(message=f"no role named {role_name}")
    session.put(f"{url}/projects/{project_id}/users/{user_id}/roles/{roles[0]['id']}")
    return user_id
