"""Calls to the key agents beside each Keystone (HTTPS with a client certificate)."""

from __future__ import annotations

import requests

from multisite.clients import errors


class KeyAgentClient:
    """One agent: read and replace its key repositories. Errors are RegionError classes."""

    def __init__(self, url: str, *, cert_file: str, key_file: str, ca_file: str,
                 timeout: float = 10.0, node: str | None = None):
        self.url = url.rstrip("/")
        self.node = node or self.url
        self.timeout = timeout
        self._session = requests.Session()
        self._session.cert = (cert_file, key_file)
        self._session.verify = ca_file
        self._session.trust_env = False  # agents are reached directly, never through a proxy

    def _call(self, method: str, path: str, *, timeout: float | None = None, **kwargs) -> dict:
        try:
            resp = self._session.request(method, self.url + path,
                                         timeout=timeout or self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise errors.RegionUnavailable(self.node, f"key agent: {type(exc).__name__}") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise errors.RegionUnavailable(self.node, f"key agent: HTTP {resp.status_code}",
                                           status=resp.status_code)
        if resp.status_code >= 400:
            try:
                message = resp.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = resp.text[:200]
            raise errors.RegionRejected(self.node, f"key agent: {message}",
                                        status=resp.status_code)
        return resp.json()

    def state(self, name: str = "fernet", *, with_keys: bool = False) -> dict:
        """{"name", "hash", "indexes"} (and "keys" when asked) of one repository."""
        query = "?keys=true" if with_keys else ""
        return self._call("GET", f"/v1/repositories/{name}{query}")

    def keys(self, name: str = "fernet") -> dict[int, str]:
        return {int(i): k for i, k in self.state(name, with_keys=True)["keys"].items()}

    def put(self, name: str, keys: dict[int, str]) -> dict:
        """Replace a repository; returns the agent's {"hash", "indexes", "changed"}."""
        body = {"keys": {str(i): k for i, k in keys.items()}}
        return self._call("PUT", f"/v1/repositories/{name}", json=body)

    def migrate_credentials(self, timeout: float | None = None) -> dict:
        """Have the agent run Keystone's credential_migrate on its node (shared database);
        ``timeout``: how long that may take (it reads and rewrites every credential)."""
        return self._call("POST", "/v1/repositories/credential/migrate", json={},
                          timeout=timeout)

    def close(self) -> None:
        self._session.close()
