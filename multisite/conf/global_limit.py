"""[kingbird_global_limit]: the 20 default global limits (Kingbird's code values)."""

from oslo_config import cfg

# Order and values are Kingbird's (kingbird/common/consts.py and config.py);
# the docs' ram=512 / key_pairs=10 are wrong and the code values win.
DEFAULT_LIMITS = {
    "instances": 10,
    "cores": 20,
    "ram": 51200,
    "metadata_items": 128,
    "key_pairs": 100,
    "floating_ips": 10,
    "fixed_ips": -1,
    "security_groups": 10,
    "network": 10,
    "subnet": 10,
    "port": 50,
    "router": 10,
    "floatingip": 50,
    "security_group": 10,
    "security_group_rule": 100,
    "volumes": 10,
    "snapshots": 10,
    "gigabytes": 1000,
    "backups": 10,
    "backup_gigabytes": 1000,
}

group = cfg.OptGroup("kingbird_global_limit",
                     title="Default global limits, used when a project has none")

OPTS = [
    cfg.IntOpt(f"quota_{name}", default=value, min=-1,
               help=f"Default global limit of '{name}' (-1 means unlimited).")
    for name, value in DEFAULT_LIMITS.items()
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(OPTS, group=group)


def list_opts():
    return [(group, OPTS)]
