"""Token issue and validation at one Keystone, to verify that every node accepts every token."""

from __future__ import annotations

import requests


def issue_token(keystone_url: str, *, username: str, password: str, project_name: str,
                domain_name: str = "Default", timeout: float = 10.0,
                session: requests.Session | None = None) -> str | None:
    """A project-scoped token issued by this Keystone; None when it is unreachable or fails."""
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": username, "domain": {"name": domain_name}, "password": password}}},
        "scope": {"project": {"name": project_name, "domain": {"name": domain_name}}}}}
    try:
        resp = (session or requests).post(keystone_url.rstrip("/") + "/auth/tokens",
                                          json=body, timeout=timeout)
    except requests.RequestException:
        return None
    return resp.headers.get("X-Subject-Token") if resp.status_code == 201 else None


def validate_token(keystone_url: str, token: str, *, timeout: float = 10.0,
                   session: requests.Session | None = None) -> int:
    """GET /v3/auth/tokens of ``token`` with itself: 200 if this Keystone can decrypt it
    (404/401 if not), 0 when the Keystone is unreachable or answers 5xx."""
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    try:
        resp = (session or requests).get(keystone_url.rstrip("/") + "/auth/tokens",
                                         headers=headers, timeout=timeout)
    except requests.RequestException:
        return 0
    return 0 if resp.status_code >= 500 else resp.status_code


def read_credentials(keystone_url: str, token: str, *, timeout: float = 10.0,
                     session: requests.Session | None = None) -> int:
    """GET /v3/credentials with ``token``: Keystone decrypts every credential it lists, so 200
    says this node's credential keys read them all (a 500 that some it cannot). 0 when the
    Keystone is unreachable."""
    try:
        resp = (session or requests).get(keystone_url.rstrip("/") + "/credentials",
                                         headers={"X-Auth-Token": token}, timeout=timeout)
    except requests.RequestException:
        return 0
    return resp.status_code
