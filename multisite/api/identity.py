"""Password logins and token revocation at Keystone for the dashboard's session endpoint.

Like keystonemiddleware, this is the API's own conversation with Keystone about its
callers' tokens (not a region call), so it lives in the api layer and speaks plain
HTTP (urllib3) instead of going through clients/.
"""

import json
import logging

import certifi
import urllib3

from multisite import exception

LOG = logging.getLogger(__name__)
_POOLS = {}


def keystone_url(conf):
    """The identity v3 endpoint: [dashboard] keystone_url or [keystone_authtoken]'s."""
    group = conf.keystone_authtoken
    url = (conf.dashboard.keystone_url or group.www_authenticate_uri or group.auth_uri
           or group.auth_url)
    if not url:
        return None
    url = url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"


def _pool(conf):
    key = (conf.dashboard.cafile, conf.dashboard.keystone_timeout)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = urllib3.PoolManager(
            num_pools=4, maxsize=4, ca_certs=conf.dashboard.cafile or certifi.where(),
            timeout=urllib3.Timeout(total=conf.dashboard.keystone_timeout),
            retries=False)
    return pool


def _request(conf, method, path, *, body=None, headers=None):
    url = keystone_url(conf)
    if url is None:
        raise exception.IdentityUnavailable(reason="no Keystone URL is configured")
    headers = dict(headers or {}, Accept="application/json")
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        return _pool(conf).request(method, url + path, body=data, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        LOG.warning("Keystone unreachable: url=%s error=%s", url, exc)
        raise exception.IdentityUnavailable(reason=type(exc).__name__) from None


def password_token(conf, *, username, password, project, domain):
    """(token, token body) of a project-scoped password login; raises on refusal."""
    domain_ref = {"name": domain}
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": domain_ref, "password": password}}},
        "scope": {"project": {"name": project, "domain": domain_ref}},
    }}
    resp = _request(conf, "POST", "/auth/tokens", body=body)
    if resp.status in (400, 401, 403, 404):
        LOG.info("Dashboard login refused: user=%s project=%s domain=%s status=%s",
                 username, project, domain, resp.status)
        raise exception.InvalidCredentials(
            reason="wrong user name, password, project or domain")
    token = resp.headers.get("X-Subject-Token")
    if resp.status != 201 or not token:
        LOG.warning("Keystone login failed: status=%s", resp.status)
        raise exception.IdentityUnavailable(reason=f"HTTP {resp.status}")
    try:
        return token, json.loads(resp.data)["token"]
    except (ValueError, KeyError):
        raise exception.IdentityUnavailable(reason="unreadable token response") from None


def catalog(conf, token):
    """The service catalog of a token (GET /v3/auth/catalog), or None if Keystone says no.

    keystonemiddleware validates without the catalog unless [keystone_authtoken]
    include_service_catalog is set, so the session document asks for it itself."""
    try:
        resp = _request(conf, "GET", "/auth/catalog", headers={"X-Auth-Token": token})
    except exception.IdentityUnavailable:
        return None
    if resp.status != 200:
        LOG.warning("Token catalog not read: status=%s", resp.status)
        return None
    try:
        return json.loads(resp.data)["catalog"]
    except (ValueError, KeyError):
        LOG.warning("Token catalog unreadable")
        return None


def revoke(conf, token):
    """Revoke a token with itself (a user may always end their own token)."""
    resp = _request(conf, "DELETE", "/auth/tokens",
                    headers={"X-Auth-Token": token, "X-Subject-Token": token})
    if resp.status not in (204, 404):
        LOG.warning("Token revocation failed: status=%s", resp.status)
