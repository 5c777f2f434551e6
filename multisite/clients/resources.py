"""The 20 Kingbird quota resources: which service holds each, under which name.

How each resource is accounted for (see docs/quota-engine.md):

* Counted from the quota-detail APIs (balanced across regions): nova instances, cores,
  ram; all seven Neutron resources; all five Cinder resources (Cinder's own usage:
  ``gigabytes`` includes snapshots, ``backup_gigabytes`` is counted).
* ``metadata_items`` is a limit per instance and ``key_pairs`` a limit per user (Nova's
  quota detail reports ``in_use`` 0 for both): neither is a project total, so each
  region receives the global value itself (``PER_ITEM``).
* ``floating_ips``, ``fixed_ips``, ``security_groups`` are nova-network limits. On a
  region with Neutron, Nova does not enforce them (removed from the API at 2.36); the
  Neutron resources ``floatingip`` and ``security_group`` are the ones that count, so
  the nova-network keys are neither read nor written there. On a region without a
  network service they are read from and written to Nova under their own names.
"""

NOVA = "nova"
NEUTRON = "neutron"
CINDER = "cinder"

NOVA_KEYS = ("instances", "cores", "ram", "metadata_items", "key_pairs")
NOVA_NETWORK_KEYS = ("floating_ips", "fixed_ips", "security_groups")
NEUTRON_KEYS = ("network", "subnet", "port", "router", "floatingip", "security_group",
                "security_group_rule")
CINDER_KEYS = ("volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes")

ALL = NOVA_KEYS + NOVA_NETWORK_KEYS + NEUTRON_KEYS + CINDER_KEYS

# Limits that are not a project total: each region gets the global value.
PER_ITEM = frozenset({"metadata_items", "key_pairs"})

# The nova-network name of a Neutron resource, for operators reading both APIs.
NOVA_NETWORK_EQUIVALENT = {"floating_ips": "floatingip", "security_groups": "security_group"}


def keys_for(service, services):
    """Multisite resource names that `service` holds in a region offering `services`."""
    if service == NOVA:
        return NOVA_KEYS + (() if NEUTRON in services else NOVA_NETWORK_KEYS)
    if service == NEUTRON:
        return NEUTRON_KEYS
    if service == CINDER:
        return CINDER_KEYS
    return ()


def service_of(name, services):
    """The service that holds resource `name` in a region offering `services`, or None."""
    for service in services:
        if name in keys_for(service, services):
            return service
    return None


def split(limits, services):
    """{service: {name: value}}; resources no service of the region holds are dropped."""
    out = {}
    for name, value in limits.items():
        service = service_of(name, services)
        if service is not None:
            out.setdefault(service, {})[name] = value
    return out
