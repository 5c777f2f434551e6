"""Files for clients of a devcloud: openrc (admin, demo) and clouds.yaml."""

from __future__ import annotations

import shlex

from multisite.devcloud import layout as L


def openrc_text(user: str, password: str, project: str, region: str,
                keystone_url: str = L.KEYSTONE_URL) -> str:
    env = {
        "OS_AUTH_URL": keystone_url,
        "OS_IDENTITY_API_VERSION": "3",
        "OS_USERNAME": user,
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": L.DOMAIN,
        "OS_PROJECT_DOMAIN_NAME": L.DOMAIN,
        "OS_REGION_NAME": region,
        "OS_INTERFACE": "public",
    }
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())


def clouds_yaml_text(regions: list[str], keystone_url: str = L.KEYSTONE_URL) -> str:
    out = ["clouds:"]
    for cloud, user, password, project in (
        ("devcloud-admin", L.ADMIN_USER, L.ADMIN_PASSWORD, L.ADMIN_PROJECT),
        ("devcloud-demo", L.DEMO_USER, L.DEMO_PASSWORD, L.DEMO_PROJECT),
    ):
        out += [
            f"  {cloud}:",
            "    auth:",
            f"      auth_url: {keystone_url}",
            f"      username: {user}",
            f"      password: {password}",
            f"      project_name: {project}",
            f"      user_domain_name: {L.DOMAIN}",
            f"      project_domain_name: {L.DOMAIN}",
            "    identity_api_version: 3",
            "    interface: public",
            f"    region_name: {regions[0]}",
            "    regions:",
            *[f"      - {r}" for r in regions],
        ]
    return "\n".join(out) + "\n"


def write_client_files(layout: L.Layout, regions: list[str]) -> None:
    url = layout.keystone_url
    layout.clouds_yaml.write_text(clouds_yaml_text(regions, url))
    layout.openrc.write_text(
        openrc_text(L.ADMIN_USER, L.ADMIN_PASSWORD, L.ADMIN_PROJECT, regions[0], url)
    )
    layout.openrc_demo.write_text(
        openrc_text(L.DEMO_USER, L.DEMO_PASSWORD, L.DEMO_PROJECT, regions[0], url)
    )
