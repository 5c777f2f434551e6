"""The `multisite_failover` auth plugin: a v3 password plugin whose Keystone requests go to the
first healthy URL of an ordered list.

keystonemiddleware finds Keystone through its auth plugin (`get_endpoint` of the identity
service) and sends validations through the plugin's session, retrying the *same* URL on
connection errors. This plugin answers identity endpoint lookups with the first configured
URL and mounts a transport adapter for every configured URL on the session: a request that
fails there (connection error, timeout, 5xx) is sent again, within the same call, to the next
URL whose breaker is closed. A service only changes its [keystone_authtoken] section.
"""

from __future__ import annotations

import logging
import threading

import requests
from keystoneauth1 import loading, plugin
from keystoneauth1.identity import v3
from requests.adapters import HTTPAdapter

from multisite.failover.breaker import Breakers

LOG = logging.getLogger(__name__)


class FailoverAdapter(HTTPAdapter):
    """Sends a request for any configured Keystone to the healthy ones, in order."""

    def __init__(self, breakers: Breakers, *, connect_timeout: float, read_timeout: float):
        super().__init__()
        self.breakers = breakers
        self.timeout = (connect_timeout, read_timeout)

    def _base(self, url: str) -> str | None:
        return next((b for b in self.breakers.urls if url.startswith(b)), None)

    def send(self, request, **kwargs):
        base = self._base(request.url)
        if base is None:
            return super().send(request, **kwargs)
        suffix = request.url[len(base):]
        kwargs["timeout"] = self.timeout
        candidates = self.breakers.order()
        error = response = None
        for position, candidate in enumerate(candidates):
            attempt = request.copy()
            attempt.url = candidate + suffix
            try:
                response = super().send(attempt, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                error, response = exc, None
                self._down(candidate, type(exc).__name__)
                continue
            if response.status_code >= 500 and position < len(candidates) - 1:
                self._down(candidate, f"HTTP {response.status_code}")
                response.close()
                continue
            if response.status_code < 500:
                self.breakers.succeeded(candidate)
            for untried in candidates[position + 1:]:
                self.breakers.release(untried)
            return response
        if response is not None:
            return response
        raise error

    def _down(self, url: str, reason: str) -> None:
        was = self.breakers.state(url)
        self.breakers.failed(url)
        if was == "closed":
            LOG.warning("Keystone marked down: url=%s reason=%s", url, reason)


class FailoverPassword(v3.Password):
    """v3 password authentication against the first healthy of ``urls``."""

    def __init__(self, auth_url, *, failover_urls=(), connect_timeout=1.0, read_timeout=10.0,
                 retry_after=10.0, **kwargs):
        urls = [auth_url, *failover_urls]
        self.breakers = Breakers([u.rstrip("/") for u in urls], retry_after=retry_after)
        self._adapter = FailoverAdapter(self.breakers, connect_timeout=connect_timeout,
                                        read_timeout=read_timeout)
        self._mounted = set()
        self._mount_lock = threading.Lock()
        super().__init__(auth_url=self.breakers.urls[0], **kwargs)

    def _mount(self, session) -> None:
        transport = getattr(session, "session", None)
        if transport is None or id(transport) in self._mounted:
            return
        with self._mount_lock:
            for url in self.breakers.urls:
                transport.mount(url, self._adapter)
            self._mounted.add(id(transport))

    def get_auth_ref(self, session, **kwargs):
        self._mount(session)
        return super().get_auth_ref(session, **kwargs)

    def get_endpoint(self, session, service_type=None, interface=None, **kwargs):
        if interface == plugin.AUTH_INTERFACE or service_type == "identity":
            self._mount(session)
            return self.breakers.urls[0]  # the adapter sends it where it is healthy
        return super().get_endpoint(session, service_type=service_type, interface=interface,
                                    **kwargs)


class FailoverLoader(loading.BaseV3Loader):
    """Options of `auth_type = multisite_failover` (auth_url: the local Keystone)."""

    @property
    def plugin_class(self):
        return FailoverPassword

    def get_options(self):
        options = super().get_options()
        options.extend([
            loading.Opt("user-id", help="User's user ID"),
            loading.Opt("username", help="User's username"),
            loading.Opt("user-domain-id", help="User's domain ID"),
            loading.Opt("user-domain-name", help="User's domain name"),
            loading.Opt("password", secret=True, help="User's password"),
            loading.Opt("failover-urls",
                        help="Comma-separated Keystone URLs (e.g. http://ks-r1:5000/v3) tried "
                             "in order after auth_url when it is down."),
            loading.Opt("failover-connect-timeout", type=float, default=1.0,
                        help="Seconds to connect to one Keystone before trying the next."),
            loading.Opt("failover-read-timeout", type=float, default=10.0,
                        help="Seconds to wait for one Keystone's answer."),
            loading.Opt("failover-retry-after", type=float, default=10.0,
                        help="Seconds a Keystone marked down is skipped before one request "
                             "tries it again."),
        ])
        return options

    def load_from_options(self, **kwargs):
        urls = kwargs.get("failover_urls") or ""
        if isinstance(urls, str):
            urls = urls.split(",")
        kwargs["failover_urls"] = [u.strip() for u in urls if u.strip()]
        kwargs["connect_timeout"] = kwargs.pop("failover_connect_timeout", None) or 1.0
        kwargs["read_timeout"] = kwargs.pop("failover_read_timeout", None) or 10.0
        kwargs["retry_after"] = kwargs.pop("failover_retry_after", None) or 10.0
        return super().load_from_options(**kwargs)
