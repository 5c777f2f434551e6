"""Helpers for integration tests against the devcloud (see docs/devcloud.md).

* :class:`DevCloud` - the running devcloud: keystone URL, admin credentials, region names,
  openstacksdk connections for (project, region), project creation.
* :class:`TestProject` - a project + member user made for one test.
* :class:`Usage` - creates real usage (keypairs, networks, subnets, ports, routers, floating
  IPs, security groups, volumes, images) for a project in a region, and deletes it afterwards.
* ``create_*`` functions - the same, one call each, on a given openstacksdk connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import logging
import os
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import openstack
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from multisite.devcloud import layout as L
from tests import polling

LOG = logging.getLogger(__name__)

# any valid public key will do: nova checks the format, and one key may back many keypairs
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHUy06Ql8nQjNlV57/TwDo+rRVPWeQ2O+enyZkY96RAz"
EXTERNAL_NETWORK = "devcloud-public"
EXTERNAL_CIDR = "172.24.4.0/24"


def unique(prefix: str = "it") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    project_name: str
    user_domain_name: str = L.DOMAIN
    project_domain_name: str = L.DOMAIN

    def auth_dict(self, auth_url: str) -> dict:
        return {
            "auth_url": auth_url,
            "username": self.username,
            "password": self.password,
            "project_name": self.project_name,
            "user_domain_name": self.user_domain_name,
            "project_domain_name": self.project_domain_name,
        }


class DevCloud:
    """The devcloud as tests see it (built by the ``devcloud`` fixture in conftest.py)."""

    def __init__(self, base: Path, regions: list[str]) -> None:
        self.base = Path(base)
        self.regions = list(regions)
        self.layout = L.Layout(self.base)
        state = self.layout.read_state()
        self.profile = state.get("profile", "api")
        self.vhosts = list(state.get("vhosts", []))  # empty: started before notifications
        self.keystone_url = self.layout.keystone_url  # http://127.0.0.1:5000/v3 (+ offset)
        self.auth_url = self.keystone_url
        self.admin = Credentials(L.ADMIN_USER, L.ADMIN_PASSWORD, L.ADMIN_PROJECT)
        self.demo = Credentials(L.DEMO_USER, L.DEMO_PASSWORD, L.DEMO_PROJECT)
        self.multisite_url = L.MULTISITE_URL
        self.clouds_yaml = self.base / "clouds.yaml"
        self._sessions: dict[Credentials, ks_session.Session] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_base(cls, base: Path) -> DevCloud:
        layout = L.Layout(base)
        n = int(layout.read_state().get("regions", 0))
        if not n:
            raise RuntimeError(f"no devcloud state in {layout.base}")
        return cls(layout.base, [L.region_name(i) for i in range(1, n + 1)])

    # -- sessions and connections ---------------------------------------------------------------
    def session(self, creds: Credentials | None = None) -> ks_session.Session:
        """A keystoneauth session (one token, shared by every region) for ``creds``."""
        creds = creds or self.admin
        with self._lock:
            sess = self._sessions.get(creds)
            if sess is None:
                auth = v3.Password(**creds.auth_dict(self.auth_url))
                sess = ks_session.Session(auth=auth)
                self._sessions[creds] = sess
            return sess

    def connect(
        self, project: TestProject | Credentials | None = None, region: str | None = None
    ) -> openstack.connection.Connection:
        """An openstacksdk Connection for ``project`` (default: admin) in ``region``.

        ``project`` may be a :class:`TestProject` (its member user) or :class:`Credentials`.
        The OS_* environment and clouds.yaml are ignored (gotcha: OS_* vars break regions).
        """
        creds = project.credentials if isinstance(project, TestProject) else project
        return openstack.connection.Connection(
            session=self.session(creds),
            region_name=region or self.regions[0],
            identity_api_version="3",
            interface="public",
        )

    def admin_connection(self, region: str | None = None) -> openstack.connection.Connection:
        return self.connect(None, region)

    def token(self, creds: Credentials | None = None) -> str:
        return self.session(creds).get_token()

    def transport_url(self, region: str) -> str:
        """The RabbitMQ URL on which ``region``'s services publish their notifications."""
        return self.layout.transport_url(L.region_index(region))

    def endpoint(self, service_type: str, region: str, interface: str = "public") -> str:
        return self.session().get_endpoint(
            service_type=service_type, region_name=region, interface=interface
        )

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str | None = None, role: str = "member") -> TestProject:
        """A new project with a new user holding ``role`` on it (via keystone as admin)."""
        name = name or unique("it")
        password = uuid.uuid4().hex
        ident = self.admin_connection().identity
        project = ident.create_project(name=name, domain_id="default", description="it test")
        user = ident.create_user(
            name=name, password=password, domain_id="default", default_project_id=project.id
        )
        role_obj = ident.find_role(role, ignore_missing=False)
        ident.assign_project_role_to_user(project, user, role_obj)
        return TestProject(self, project.id, name, user.id, name, password)

    def delete_project(self, project: TestProject) -> None:
        ident = self.admin_connection().identity
        with contextlib.suppress(Exception):
            ident.delete_user(project.user_id, ignore_missing=True)
        with contextlib.suppress(Exception):
            ident.delete_project(project.id, ignore_missing=True)
        with self._lock:
            self._sessions.pop(project.credentials, None)

    # -- shared admin-made things -------------------------------------------------------------
    def external_network(self, region: str):
        """The flat external network of ``region`` (made once by admin, kept)."""
        self.base.mkdir(parents=True, exist_ok=True)
        # several pytest-xdist workers may get here at once
        with open(self.base / f".extnet-{region}.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            return ensure_external_network(self.admin_connection(region))


@dataclass
class TestProject:
    """A project and its member user, made for one test (fixture ``fresh_project``)."""

    __test__ = False  # not a pytest test class

    cloud: DevCloud
    id: str
    name: str
    user_id: str
    username: str
    password: str

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password, self.name)

    def connect(self, region: str | None = None) -> openstack.connection.Connection:
        return self.cloud.connect(self, region)


# -- one-shot creators (any connection) ----------------------------------------------------------
def ensure_external_network(admin_conn, name: str = EXTERNAL_NETWORK, cidr: str = EXTERNAL_CIDR):
    """Get or create a flat ``router:external`` network with a subnet (admin connection)."""
    found = list(admin_conn.network.networks(name=name))
    net = found[0] if found else None
    if net is None:
        net = admin_conn.network.create_network(
            name=name,
            is_router_external=True,
            provider_network_type="flat",
            provider_physical_network="public",
        )
    if not list(admin_conn.network.subnets(network_id=net.id)):
        gw = str(next(ipaddress.ip_network(cidr).hosts()))
        admin_conn.network.create_subnet(
            network_id=net.id, name=f"{name}-subnet", ip_version=4, cidr=cidr, gateway_ip=gw,
            is_dhcp_enabled=False,
        )
    return net


def create_keypair(conn, name: str | None = None, public_key: str = PUBLIC_KEY):
    return conn.compute.create_keypair(name=name or unique("kp"), public_key=public_key)


def create_network(conn, name: str | None = None):
    return conn.network.create_network(name=name or unique("net"))


def create_subnet(conn, network, cidr: str = "10.0.0.0/24", name: str | None = None):
    return conn.network.create_subnet(
        network_id=network.id, name=name or unique("subnet"), ip_version=4, cidr=cidr
    )


def create_port(conn, network, name: str | None = None):
    return conn.network.create_port(network_id=network.id, name=name or unique("port"))


def create_router(conn, external_network=None, name: str | None = None):
    attrs = {"name": name or unique("router")}
    if external_network is not None:
        attrs["external_gateway_info"] = {"network_id": external_network.id}
    return conn.network.create_router(**attrs)


def create_floating_ip(conn, external_network):
    return conn.network.create_ip(floating_network_id=external_network.id)


def create_security_group(conn, name: str | None = None, with_rule: bool = True):
    sg = conn.network.create_security_group(name=name or unique("sg"))
    if with_rule:
        conn.network.create_security_group_rule(
            security_group_id=sg.id, direction="ingress", protocol="tcp",
            port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
        )
    return sg


def create_volume(conn, size: int = 1, name: str | None = None):
    """With no cinder-volume the volume stays ``creating``, but it counts in cinder usage."""
    return conn.block_storage.create_volume(size=size, name=name or unique("vol"))


def create_image(conn, data: bytes | None = None, name: str | None = None):
    """An active image (disk_format raw: glance rejects raw bytes labelled qcow2)."""
    data = data if data is not None else os.urandom(64 * 1024)
    image = conn.image.create_image(
        name=name or unique("img"), data=data, disk_format="raw", container_format="bare",
        allow_duplicates=True,
    )
    return image


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - glance's checksum is md5


# -- tracked usage for one project (fixture ``usage``) ------------------------------------------
@dataclass
class Usage:
    """Makes usage for ``project`` in any region and undoes it in :meth:`cleanup`.

    Every method takes the region name first and returns the openstacksdk resource.
    """

    cloud: DevCloud
    project: TestProject
    created: list[tuple[str, str, object]] = field(default_factory=list)
    _conns: dict[str, object] = field(default_factory=dict)
    _subnet_counter: int = 0

    def conn(self, region: str):
        if region not in self._conns:
            self._conns[region] = self.project.connect(region)
        return self._conns[region]

    def _track(self, region: str, kind: str, obj):
        self.created.append((region, kind, obj))
        return obj

    def keypair(self, region: str, name: str | None = None):
        return self._track(region, "keypair", create_keypair(self.conn(region), name))

    def network(self, region: str, name: str | None = None):
        return self._track(region, "network", create_network(self.conn(region), name))

    def subnet(self, region: str, network=None, cidr: str | None = None):
        network = network or self.network(region)
        if cidr is None:
            self._subnet_counter += 1
            cidr = f"10.{self._subnet_counter % 250}.0.0/24"
        return self._track(region, "subnet", create_subnet(self.conn(region), network, cidr))

    def port(self, region: str, network=None):
        network = network or self.network(region)
        return self._track(region, "port", create_port(self.conn(region), network))

    def router(self, region: str, gateway: bool = True, subnet=None):
        """A router (with a gateway on the external network); ``subnet`` adds an interface."""
        ext = self.cloud.external_network(region) if gateway else None
        router = self._track(region, "router", create_router(self.conn(region), ext))
        if subnet is not None:
            self.conn(region).network.put(
                f"/routers/{router.id}/add_router_interface", json={"subnet_id": subnet.id}
            ).raise_for_status()
            self._track(region, "router_interface", (router, subnet))
        return router

    def floating_ip(self, region: str):
        ext = self.cloud.external_network(region)
        return self._track(region, "floating_ip", create_floating_ip(self.conn(region), ext))

    def security_group(self, region: str, name: str | None = None):
        sg = create_security_group(self.conn(region), name)
        return self._track(region, "security_group", sg)

    def volume(self, region: str, size: int = 1):
        return self._track(region, "volume", create_volume(self.conn(region), size))

    def image(self, region: str, data: bytes | None = None):
        return self._track(region, "image", create_image(self.conn(region), data))

    def cleanup(self) -> None:
        """Delete what was made, newest first; errors are logged, not raised."""
        while self.created:
            region, kind, obj = self.created.pop()
            conn = self.conn(region)
            try:
                _delete(conn, kind, obj)
            except Exception as exc:  # noqa: BLE001 - best effort
                LOG.warning("cleanup of %s %s in %s failed: %s", kind, obj, region, exc)


def _delete(conn, kind: str, obj) -> None:
    net = conn.network
    if kind == "keypair":
        conn.compute.delete_keypair(obj, ignore_missing=True)
    elif kind == "network":
        net.delete_network(obj, ignore_missing=True)
    elif kind == "subnet":
        net.delete_subnet(obj, ignore_missing=True)
    elif kind == "port":
        net.delete_port(obj, ignore_missing=True)
    elif kind == "router_interface":
        router, subnet = obj
        net.put(
            f"/routers/{router.id}/remove_router_interface", json={"subnet_id": subnet.id}
        ).raise_for_status()
    elif kind == "router":
        net.delete_router(obj, ignore_missing=True)
    elif kind == "floating_ip":
        net.delete_ip(obj, ignore_missing=True)
    elif kind == "security_group":
        net.delete_security_group(obj, ignore_missing=True)
    elif kind == "volume":
        conn.block_storage.delete_volume(obj, ignore_missing=True)
    elif kind == "image":
        conn.image.delete_image(obj, ignore_missing=True)
    else:  # pragma: no cover
        raise ValueError(kind)


# Kept importable from here for the integration tests (docs/devcloud.md).
wait_for = polling.wait_for


@contextlib.contextmanager
def region_down(region: str, services=("nova", "cinder", "neutron")):
    """Kill (SIGKILL) a devcloud region's API processes; restart them on exit.

    Yields the services, already unreachable (their ports closed). On exit each is
    started again and answering before the block's caller goes on.
    """
    import signal
    import time

    from multisite.devcloud import services as S

    layout = L.Layout(L.default_base())
    state = layout.read_state()
    apis = [s for s in S.all_services(layout, int(state["regions"]), state.get("db", "sqlite"))
            if s.region == region and s.name.split("-")[-1] in services]
    assert apis, f"{region}'s {'/'.join(services)} not found in {layout.base}"
    for svc in apis:
        svc.signal(signal.SIGKILL)
    try:
        wait_for(lambda: all(S.port_free(s.port) for s in apis), timeout=20,
                 what=f"{region}'s ports to close")
        yield apis
    finally:
        for svc in apis:
            if not svc.is_running():
                svc.start()
        deadline = time.monotonic() + 120
        for svc in apis:
            svc.wait_ready(deadline)
