"""Continuous sync policy options: [sync_policy] (audit period, workers)."""

from oslo_config import cfg

sync_policy_group = cfg.OptGroup("sync_policy", title="Continuous sync policies")
SYNC_POLICY_OPTS = [
    cfg.FloatOpt("audit_interval", default=60.0, min=0.5,
                 help="Seconds between two audits of every policy (each engine audits the "
                      "projects the hash ring gives it)."),
    cfg.IntOpt("workers", default=8, min=1,
               help="Projects one engine worker audits at the same time."),
    cfg.IntOpt("region_concurrency", default=8, min=1,
               help="Region list calls one engine's audits make at once to one region."),
    cfg.IntOpt("read_concurrency", default=64, min=1,
               help="Region list calls one engine's audits make at once over every "
                    "region (the threads of its read pool). A pass can keep "
                    "min(this, regions x region_concurrency) calls in flight."),
    cfg.FloatOpt("audit_timeout", default=60.0, min=1.0,
                 help="Seconds the API waits for an audit requested with POST "
                      "/v2/sync-policies/{id}/audit."),
]


def register_opts(conf):
    conf.register_group(sync_policy_group)
    conf.register_opts(SYNC_POLICY_OPTS, group=sync_policy_group)


def list_opts():
    return [(sync_policy_group, SYNC_POLICY_OPTS)]
