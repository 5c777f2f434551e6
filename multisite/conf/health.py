"""[health] options: region health probes and capacity reads (the region_health kinds)."""

from oslo_config import cfg

health_group = cfg.OptGroup("health", title="Region health probes and capacity")
HEALTH_OPTS = [
    cfg.BoolOpt("enabled", default=True,
                help="Probe every region of the catalog (GET /v2/regions shows the results)."),
    cfg.FloatOpt("interval", default=30.0, min=1.0,
                 help="Seconds between two probes of a region."),
    cfg.FloatOpt("timeout", default=5.0, min=0.1,
                 help="Seconds one probe call may take (connect and each read); slower "
                      "counts as unreachable."),
    cfg.IntOpt("workers", default=32, min=1,
               help="Regions one engine probes at the same time."),
    cfg.IntOpt("call_concurrency", default=64, min=1,
               help="Probe calls (all regions' services together) one engine makes at "
                    "the same time."),
    cfg.FloatOpt("capacity_interval", default=300.0, min=5.0,
                 help="Seconds between two reads of a region's capacity (hypervisor "
                      "statistics, storage pools, IP availability, images)."),
    cfg.IntOpt("capacity_max_networks", default=200, min=0,
               help="Networks listed per region in the network capacity (the totals "
                    "always count them all)."),
]


def register_opts(conf):
    conf.register_group(health_group)
    conf.register_opts(HEALTH_OPTS, group=health_group)


def list_opts():
    return [(health_group, HEALTH_OPTS)]
