"""[metrics] options: Prometheus metrics of the API (/metrics) and of each engine process."""

from oslo_config import cfg

metrics_group = cfg.OptGroup("metrics", title="Prometheus metrics")
METRICS_OPTS = [
    cfg.BoolOpt("enabled", default=False,
                help="Serve GET /metrics on the API (policy multisite:metrics:show, admin by "
                     "default): region and service health, probe latency, sync jobs and "
                     "rows, stored events, the API's database pool."),
    cfg.FloatOpt("state_cache_seconds", default=5.0, min=0.0,
                 help="The gauges /metrics reads from the database (region services, "
                      "capacity, sync jobs and rows, stored events) are read and rendered "
                      "at most once per this many seconds in each API process; scrapes in "
                      "between get that text again (probes and capacity passes run every "
                      "[health] interval, so little is lost). The process's own counters "
                      "and its database pool are always current. 0: read every scrape."),
    cfg.PortOpt("engine_port", default=0,
                help="When not 0, each engine process serves its own counters (region call "
                     "latency and errors, events received, reconcile outcomes) in the "
                     "Prometheus text format on engine_host:engine_port (+ the worker "
                     "index for engine workers beyond the first): a separate bind, no "
                     "authentication, so keep it on a management network."),
    cfg.HostAddressOpt("engine_host", default="127.0.0.1",
                       help="Address of the engines' metrics listener."),
]


def register_opts(conf):
    conf.register_group(metrics_group)
    conf.register_opts(METRICS_OPTS, group=metrics_group)


def list_opts():
    return [(metrics_group, METRICS_OPTS)]
