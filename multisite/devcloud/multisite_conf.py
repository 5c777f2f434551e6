"""A multisite.conf that points Multisite at the devcloud (Keystone auth, service creds)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from multisite.devcloud import configs
from multisite.devcloud import layout as L


def notification_lines(notification_urls: dict[str, str]) -> str:
    """``[notifications] region_transport_url = REGION=URL``, one line per region."""
    if not notification_urls:
        return ""
    lines = ["[notifications]"]
    lines += [f"region_transport_url = {region}={url}"
              for region, url in notification_urls.items()]
    return "\n".join(lines) + "\n"


def render(state: Path, *, transport_url: str = "fake://", port: int = 8118,
           periodic_enable: bool = True, periodic_interval: int = 60,
           api_workers: int = 1, keystone_url: str = L.KEYSTONE_URL,
           notification_urls: dict[str, str] | None = None) -> str:
    """Keystone-authenticated API and an engine using the admin account to reach regions.

    ``notification_urls`` (region name -> transport URL) says where each region's services
    publish their notifications.
    """
    return textwrap.dedent(f"""\
        [DEFAULT]
        bind_host = {L.HOST}
        bind_port = {port}
        api_workers = {api_workers}
        auth_strategy = keystone
        transport_url = {transport_url}
        [database]
        connection = sqlite:///{state}/multisite.sqlite
        [coordination]
        backend_url = file://{state}/locks
        [scheduler]
        periodic_enable = {str(periodic_enable).lower()}
        periodic_interval = {periodic_interval}
        [cache]
        auth_uri = {keystone_url}
        admin_username = {L.ADMIN_USER}
        admin_password = {L.ADMIN_PASSWORD}
        admin_tenant = {L.ADMIN_PROJECT}
        admin_user_domain_name = {L.DOMAIN}
        admin_project_domain_name = {L.DOMAIN}
        [keystone_authtoken]
        www_authenticate_uri = {keystone_url}
        auth_url = {keystone_url}
        auth_type = password
        username = {L.ADMIN_USER}
        password = {L.ADMIN_PASSWORD}
        project_name = {L.ADMIN_PROJECT}
        user_domain_name = {L.DOMAIN}
        project_domain_name = {L.DOMAIN}
        [network]
        bridge_physical_network = {configs.PHYSNET}
        """) + notification_lines(notification_urls or {})
