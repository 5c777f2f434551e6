"""Resource sync job options: [sync] (os-sync engine: pool, scans, leases, retries)."""

from oslo_config import cfg

sync_group = cfg.OptGroup("sync", title="Resource sync jobs (os-sync)")
SYNC_OPTS = [
    cfg.IntOpt("workers", default=16, min=1,
               help="Rows one engine worker runs at the same time."),
    cfg.FloatOpt("scan_interval", default=5.0, min=0.05,
                 help="Seconds between two scans for unclaimed rows (a cast wakes the "
                      "scan at once)."),
    cfg.IntOpt("lease", default=60, min=2,
               help="Seconds a claimed row stays with its engine without a renewal; a "
                    "dead engine's rows are taken over after this."),
    cfg.FloatOpt("handoff_lease", default=10.0, min=1.0,
                 help="Seconds the rows of a new job stay claimed by the engine that "
                      "validated it (the API writes them so and casts them to it, which "
                      "starts them without a claim); if the cast is lost they are "
                      "claimable again after this."),
    cfg.IntOpt("max_attempts", default=5, min=1,
               help="Attempts of a row (temporary errors, engine deaths) before FAILURE."),
    cfg.FloatOpt("retry_delay", default=5.0, min=0,
                 help="First delay after a temporary error; doubles at each attempt."),
    cfg.FloatOpt("max_retry_delay", default=120.0, min=0,
                 help="Upper bound of the delay after a temporary error."),
]


def register_opts(conf):
    conf.register_group(sync_group)
    conf.register_opts(SYNC_OPTS, group=sync_group)


def list_opts():
    return [(sync_group, SYNC_OPTS)]
