"""A multisite.conf that points Multisite at the devcloud (Keystone auth, service creds)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from multisite.devcloud import layout as L


def render(state: Path, *, transport_url: str = "fake://", port: int = 8118,
           periodic_enable: bool = True, periodic_interval: int = 60,
           api_workers: int = 1) -> str:
    """Keystone-authenticated API and an engine using the admin account to reach regions."""
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
        auth_uri = {L.KEYSTONE_URL}
        admin_username = {L.ADMIN_USER}
        admin_password = {L.ADMIN_PASSWORD}
        admin_tenant = {L.ADMIN_PROJECT}
        admin_user_domain_name = {L.DOMAIN}
        admin_project_domain_name = {L.DOMAIN}
        [keystone_authtoken]
        www_authenticate_uri = {L.KEYSTONE_URL}
        auth_url = {L.KEYSTONE_URL}
        auth_type = password
        username = {L.ADMIN_USER}
        password = {L.ADMIN_PASSWORD}
        project_name = {L.ADMIN_PROJECT}
        user_domain_name = {L.DOMAIN}
        project_domain_name = {L.DOMAIN}
        """)
