"""[DEFAULT] options shared by every Multisite service."""

import socket

from oslo_config import cfg

COMMON_OPTS = [
    cfg.BoolOpt("use_default_quota_class", default=True,
                help="Use the 'default' quota class (from the database) for default "
                     "limits; when false only [kingbird_global_limit] values are used."),
    cfg.IntOpt("report_interval", default=60, min=1,
               help="Seconds between engine liveness reports."),
    cfg.IntOpt("workers", default=1, min=1,
               help="Number of engine worker processes per multisite-engine."),
    cfg.StrOpt("host", default=socket.gethostname(), sample_default="localhost",
               help="Name of this node, used as the RPC server name."),
    cfg.StrOpt("quota_policy", default="kingbird", choices=["kingbird", "strict"],
               help="How region limits are derived from a global limit: 'kingbird' "
                    "(max(L-T,0)+U_i, the original formula) or 'strict' (the sum of region "
                    "limits never exceeds the global limit)."),
]

upgrade_group = cfg.OptGroup("upgrade_levels", title="RPC version caps (unused, accepted)")
UPGRADE_OPTS = [
    cfg.StrOpt("kb-engine", help="Unused; accepted for kingbird.conf compatibility."),
]


def register_opts(conf):
    conf.register_opts(COMMON_OPTS)
    conf.register_group(upgrade_group)
    conf.register_opts(UPGRADE_OPTS, group=upgrade_group)


def list_opts():
    return [("DEFAULT", COMMON_OPTS), (upgrade_group, UPGRADE_OPTS)]
