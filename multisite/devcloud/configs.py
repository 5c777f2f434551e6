"""The config files each devcloud service reads (API-only and full profiles)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

from multisite.devcloud import layout as L
from multisite.devcloud.keystone_setup import SERVICE_PASSWORDS

if TYPE_CHECKING:  # pragma: no cover
    from multisite.devcloud.services import Service

# the external provider network of every region, and the VLAN range of its tenant networks
PHYSNET = "physnet1"
EXTERNAL_PHYSNET = "public"  # the flat external network's
VLAN_RANGE = "100:200"
# a second VLAN physnet that no host is wired to: the other segment of a routed network
# (segments map to hosts through the L2 agent's bridge mappings; nothing maps physnet2)
ROUTED_PHYSNET = "physnet2"
# the full profile's nova-compute driver (it runs in the devcloud venv, see compute())
# (Nova imports it as nova.virt.<this>: agents/nova_compute.py gives the driver that name)
COMPUTE_DRIVER = "multisite_snapshot_driver.SnapshotFakeDriver"


def _auth(svc: Service, section: str, user: str, *, www: bool = False) -> str:
    """A keystoneauth password section for ``user`` (a service user) in the service's region."""
    url = svc.auth_url
    return f"""
[{section}]
{f'www_authenticate_uri = {url}' if www else ''}
auth_url = {url}
auth_type = password
username = {user}
password = {SERVICE_PASSWORDS[user]}
project_name = service
user_domain_name = {L.DOMAIN}
project_domain_name = {L.DOMAIN}
region_name = {svc.region}
"""


def authtoken(svc: Service) -> str:
    from multisite.devcloud import keyagents

    if keyagents.uses_failover(svc):
        return keyagents.authtoken_failover(svc)
    user = "keystone" if svc.kind == "keystone" else svc.kind
    return _auth(svc, "keystone_authtoken", user, www=True)


def notifications(svc: Service) -> str:
    """Every service publishes notifications (messagingv2) on its region's own vhost."""
    return f"""
[oslo_messaging_notifications]
driver = messagingv2
transport_url = {svc.layout.transport_url(max(svc.index, 1))}
"""


def rpc_url(svc: Service) -> str:
    """RPC: the region's vhost in the full profile; the API-only profile has no RPC peers."""
    return svc.layout.transport_url(svc.index) if svc.full else "fake://"


def common(svc: Service) -> str:
    return f"""
[oslo_concurrency]
lock_path = {svc.dir / 'lock'}
{notifications(svc)}{authtoken(svc)}"""


def keystone(svc: Service) -> None:
    d = svc.dir
    (d / "keystone.conf").write_text(f"""[DEFAULT]
debug = false

[database]
connection = {svc.db_url('keystone')}

[token]
provider = fernet

[fernet_tokens]
key_repository = {d / 'fernet-keys'}

[credential]
key_repository = {d / 'credential-keys'}

[cache]
# one worker: the in-process cache stays consistent, and it avoids ~300 SQL queries/token
enabled = true
backend = dogpile.cache.memory
{notifications(svc)}""")


def nova(svc: Service) -> None:
    d = svc.dir
    shutil.copy(svc.layout.venv / "etc" / "nova" / "api-paste.ini", d / "api-paste.ini")
    full = ""
    if svc.full:
        full = f"""
[notifications]
notify_on_state_change = vm_and_task_state

[scheduler]
discover_hosts_in_cells_interval = 5
workers = 1

[conductor]
workers = 1

[cinder]
os_region_name = {svc.region}
{_auth(svc, 'placement', 'nova')}
valid_interfaces = public
{_auth(svc, 'neutron', 'nova')}
valid_interfaces = public

[glance]
region_name = {svc.region}
valid_interfaces = public
{_auth(svc, 'service_user', 'nova')}
# Cinder lets only Nova delete the attachment of a server's volume (OSSA-2023-003): the
# detach, and the delete of a server with a volume, carry a service token of a user with
# the `service` role (nova has it), else Cinder answers ConflictNovaUsingAttachment and
# the volume stays in-use or detaching
send_service_user_token = true
"""
        compute(svc)
    (d / "nova.conf").write_text(f"""[DEFAULT]
transport_url = {rpc_url(svc)}
host = r{svc.index}-nova-api
state_path = {d}
# FakeDriver with one stable node UUID (kept in $state_path/compute_id): plain FakeDriver
# makes new node UUIDs in each process, and nova-compute then refuses to start again
compute_driver = fake.FakeDriverWithoutFakeNodes
debug = false
graceful_shutdown_timeout = 5

[api]
auth_strategy = keystone

[wsgi]
api_paste_config = {d / 'api-paste.ini'}

[api_database]
connection = {svc.db_url('nova_api')}

[database]
connection = {svc.db_url('nova')}

[keystone]
region_name = {svc.region}
{full}{common(svc)}""")


def compute(svc: Service) -> None:
    """nova-compute's own file: its host name, and no [database] (it must not touch the DB);
    FakeDriverWithoutFakeNodes + the online volume snapshots Cinder's NFS driver asks Nova for
    (agents/snapshot_driver.py, run by the launcher agents/nova_compute.py)."""
    (svc.dir / "compute.conf").write_text(f"""[DEFAULT]
host = {svc.compute_host}
compute_driver = {COMPUTE_DRIVER}
""")


def placement(svc: Service) -> None:
    (svc.dir / "placement.conf").write_text(f"""[DEFAULT]
debug = false

[placement_database]
connection = {svc.db_url('placement')}

[api]
auth_strategy = keystone
{common(svc)}""")


def cinder(svc: Service) -> None:
    d = svc.dir
    etc = svc.layout.venv / "etc" / "cinder"
    shutil.copy(etc / "api-paste.ini", d / "api-paste.ini")
    shutil.copy(etc / "resource_filters.json", d / "resource_filters.json")
    full = ""
    if svc.full:
        (d / "nfs_shares").write_text(svc.nfs_share + "\n")
        full = f"""enabled_backends = nfs
backup_driver = cinder.backup.drivers.posix.PosixBackupDriver
backup_posix_path = {svc.layout.backup_dir}
# cinder-backup builds each backup file in memory: the default (1,999,994,880 bytes) held
# ~1 GB per running backup and got it OOM-killed with 4-16 backups of 1 GB volumes at once
backup_file_size = {64 * 1024 * 1024}
rootwrap_config = {d / 'rootwrap.conf'}

[nfs]
volume_driver = cinder.volume.drivers.nfs.NfsDriver
volume_backend_name = nfs
nfs_shares_config = {d / 'nfs_shares'}
nfs_mount_point_base = {svc.nfs_mount_base}
nfs_snapshot_support = true
nfs_sparsed_volumes = true
nas_secure_file_operations = false
nas_secure_file_permissions = false
{_auth(svc, 'nova', 'cinder')}

[glance]
# the region's own Glance (creating a volume from an image, e.g. a server booted from a
# volume): without it Cinder takes the catalog's first image endpoint, maybe another region's
region_name = {svc.region}
"""
    (d / "cinder.conf").write_text(f"""[DEFAULT]
transport_url = {rpc_url(svc)}
auth_strategy = keystone
api_paste_config = {d / 'api-paste.ini'}
resource_query_filters_file = {d / 'resource_filters.json'}
state_path = {d}
host = r{svc.index}-cinder{'' if svc.full else '-api'}
debug = false
graceful_shutdown_timeout = 5
{full}
[database]
connection = {svc.db_url('cinder')}
{common(svc)}""")


def neutron(svc: Service) -> None:
    d = svc.dir
    shutil.copy(svc.layout.venv / "etc" / "neutron" / "api-paste.ini", d / "api-paste.ini")
    plugins = "router,trunk,segments" if svc.full else "router"
    if svc.full:
        # the L2 agent stand-in (agents/ovs_agent_standin.py) on the compute host
        (d / "ovs_agent.ini").write_text(f"""[DEFAULT]
host = {svc.compute_host}

[standin]
physnets = {PHYSNET},{EXTERNAL_PHYSNET}
""")
    (d / "neutron.conf").write_text(f"""[DEFAULT]
core_plugin = ml2
service_plugins = {plugins}
transport_url = {rpc_url(svc)}
auth_strategy = keystone
api_paste_config = {d / 'api-paste.ini'}
state_path = {d}
host = r{svc.index}-neutron-server
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
rpc_workers = 1
# the RPC worker also takes the agents' state reports
rpc_state_report_workers = 0
debug = false
graceful_shutdown_timeout = 5

[database]
connection = {svc.db_url('neutron')}

[agent]
report_interval = 10
{common(svc)}""")
    (d / "ml2_conf.ini").write_text(f"""[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security

[ml2_type_flat]
flat_networks = *

[ml2_type_vlan]
network_vlan_ranges = {PHYSNET}:{VLAN_RANGE},{ROUTED_PHYSNET}:{VLAN_RANGE}

[ml2_type_vxlan]
vni_ranges = 1:10000
""")


def glance(svc: Service) -> None:
    d = svc.dir
    shutil.copy(svc.layout.venv / "etc" / "glance" / "glance-api-paste.ini",
                d / "glance-api-paste.ini")
    for sub in ("images", "staging", "tasks"):
        (d / sub).mkdir(exist_ok=True)
    (d / "glance-api.conf").write_text(f"""[DEFAULT]
enabled_backends = fs:file
worker_self_reference_url = http://{L.HOST}:{svc.port}
transport_url = fake://
debug = false

[database]
connection = {svc.db_url('glance')}

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {d / 'images'}

[os_glance_staging_store]
filesystem_store_datadir = {d / 'staging'}

[os_glance_tasks_store]
filesystem_store_datadir = {d / 'tasks'}

[paste_deploy]
flavor = keystone
config_file = {d / 'glance-api-paste.ini'}
{common(svc)}""")


WRITERS = {"keystone": keystone, "nova": nova, "placement": placement, "cinder": cinder,
           "neutron": neutron, "glance": glance}


def write(svc: Service) -> None:
    svc.dir.mkdir(parents=True, exist_ok=True)
    WRITERS[svc.kind](svc)
