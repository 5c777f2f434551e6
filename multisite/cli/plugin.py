"""OpenStackClient plugin: `openstack multisite ...` and the client factory of both CLIs."""

import os

from osc_lib import utils

from multisite.client import client as ms_client
from multisite.client import http

DEFAULT_API_VERSION = "1"
API_NAME = "multisite"
API_VERSION_OPTION = "os_multisite_api_version"
API_VERSIONS = {"1": "multisite.client.client.Client"}
DEFAULT_ROLES = "member"


def _option(instance, name):
    """A global option, from the command line, the environment or clouds.yaml."""
    config = instance._cli_options.config
    return config.get(name) or config.get(f"os_{name}")


def noauth_mode(instance):
    """True when talking straight to a noauth server: an explicit URL and no Keystone."""
    auth = instance._cli_options.config.get("auth") or {}
    return bool(_option(instance, "multisite_url")) and not auth.get("auth_url") and (
        instance._cli_options.config.get("auth_type") in (None, "password", "none"))


def make_client(instance):
    """Build the Multisite client from the ClientManager of `openstack` or `multisite`."""
    url = _option(instance, "multisite_url")
    if noauth_mode(instance):
        auth = instance._cli_options.config.get("auth") or {}
        roles = _option(instance, "multisite_roles") or DEFAULT_ROLES
        return ms_client.Client(
            endpoint=url, project_id=auth.get("project_id"), user_id=auth.get("user_id"),
            roles=[role.strip() for role in roles.split(",") if role.strip()],
            verify=instance.verify)
    return ms_client.Client(
        session=instance.session, endpoint=url,
        service_type=_option(instance, "multisite_service_type") or http.SERVICE_TYPE,
        interface=instance.interface, region_name=instance.region_name)


def build_option_parser(parser):
    """The global options this plugin adds (to `openstack` and to `multisite`)."""
    parser.add_argument(
        "--os-multisite-api-version", metavar="<version>",
        default=utils.env("OS_MULTISITE_API_VERSION", default=DEFAULT_API_VERSION),
        help="Multisite API version, default=1 (Env: OS_MULTISITE_API_VERSION)")
    parser.add_argument(
        "--os-multisite-url", metavar="<url>", dest="multisite_url",
        default=os.environ.get("OS_MULTISITE_URL"),
        help="Multisite endpoint, bypassing the catalog, e.g. http://127.0.0.1:8118/v1.0 "
             "(Env: OS_MULTISITE_URL). Without an auth URL this selects noauth mode: "
             "the X-Project-Id/X-User-Id/X-Roles headers come from --os-project-id, "
             "--os-user-id and --os-multisite-roles.")
    parser.add_argument(
        "--os-multisite-service-type", metavar="<type>", dest="multisite_service_type",
        default=os.environ.get("OS_MULTISITE_SERVICE_TYPE", http.SERVICE_TYPE),
        help="Catalog service type, default=synchronization (Env: OS_MULTISITE_SERVICE_TYPE)")
    parser.add_argument(
        "--os-multisite-roles", metavar="<role,...>", dest="multisite_roles",
        default=os.environ.get("OS_MULTISITE_ROLES"),
        help=f"noauth mode only: roles sent as X-Roles, default={DEFAULT_ROLES} "
             "(Env: OS_MULTISITE_ROLES)")
    return parser
