"""Engine options: [scheduler], [batch], [locks], [coordination]."""

from oslo_config import cfg

scheduler_group = cfg.OptGroup("scheduler", title="Periodic quota rebalance")
SCHEDULER_OPTS = [
    cfg.BoolOpt("periodic_enable", default=True,
                help="Run the periodic rebalance of every project's quotas."),
    cfg.IntOpt("periodic_interval", default=900, min=1,
               help="Seconds between two periodic rebalances."),
    cfg.BoolOpt("sync_all_projects", default=False,
                help="Rebalance every enabled Keystone project (Kingbird's behaviour) "
                     "instead of only projects that have Multisite limits."),
    cfg.IntOpt("region_backoff_base", default=30, min=1,
               help="Seconds before retrying a region that failed once for a project; "
                    "doubled after each further failure."),
    cfg.IntOpt("region_backoff_max", default=900, min=1,
               help="Longest wait before retrying a failing region for a project."),
]

batch_group = cfg.OptGroup("batch", title="Engine concurrency")
BATCH_OPTS = [
    cfg.IntOpt("batch_size", default=3, min=1,
               help="Projects rebalanced concurrently by one engine worker."),
    cfg.IntOpt("region_concurrency", default=8, min=1,
               help="Concurrent calls to regions per project."),
]

locks_group = cfg.OptGroup("locks", title="Locks")
LOCKS_OPTS = [
    cfg.IntOpt("lock_retry_times", default=3, min=0,
               help="Attempts to take a lock before giving up."),
    cfg.IntOpt("lock_retry_interval", default=10, min=0,
               help="Seconds between two attempts to take a lock."),
]

coordination_group = cfg.OptGroup("coordination", title="tooz coordination")
COORDINATION_OPTS = [
    cfg.StrOpt("backend_url", secret=True, default="",
               help="tooz backend URL for membership, partitioning and locks, e.g. "
                    "redis://127.0.0.1:6379, mysql://..., postgresql://..., or "
                    "file:///var/lib/multisite/locks. Empty means file locks under "
                    "the state path (one machine only)."),
]

cache_group = cfg.OptGroup("cache", title="Service credentials used to reach the regions")
CACHE_OPTS = [
    cfg.StrOpt("auth_uri", help="Keystone URL used to read the catalog."),
    cfg.StrOpt("identity_uri", help="Keystone admin URL (Kingbird; used if auth_uri unset)."),
    cfg.StrOpt("admin_username", help="Service user name."),
    cfg.StrOpt("admin_password", secret=True, help="Service user password."),
    cfg.StrOpt("admin_tenant",
               help="Service project; a name or an id (Kingbird accepted only an id)."),
    cfg.StrOpt("admin_user_domain_name", default="Default",
               help="Domain of the service user; a name or an id."),
    cfg.StrOpt("admin_project_domain_name", default="Default",
               help="Domain of the service project; a name or an id."),
    cfg.IntOpt("catalog_ttl", default=300, min=0,
               help="Seconds for which the region list read from Keystone is cached."),
    cfg.FloatOpt("region_timeout", default=10.0, min=0.1,
                 help="Seconds to wait for one Nova/Cinder/Neutron/Keystone call before "
                      "the region counts as unreachable for this pass."),
]


def register_opts(conf):
    for group, opts in list_opts():
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    return [
        (scheduler_group, SCHEDULER_OPTS),
        (batch_group, BATCH_OPTS),
        (locks_group, LOCKS_OPTS),
        (coordination_group, COORDINATION_OPTS),
        (cache_group, CACHE_OPTS),
    ]
