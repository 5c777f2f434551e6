"""Cross-pod networking options: [network] (the bridge networks and the router jobs)."""

from oslo_config import cfg

network_group = cfg.OptGroup("network", title="Cross-pod L3 networking of the big region")
NETWORK_OPTS = [
    cfg.ListOpt("bridge_vlan_ranges", default=["2000:2999"],
                help="Segmentation ids (first:last, inclusive) given to the tenants' bridge "
                     "networks: one per tenant, the same in every pod, never two tenants."),
    cfg.StrOpt("bridge_network_type", default="vlan",
               help="provider:network_type of the bridge networks made in the pods."),
    cfg.StrOpt("bridge_physical_network", default="bridge",
               help="provider:physical_network of the bridge networks: a physical network "
                    "every pod's ML2 knows (its [ml2_type_vlan] network_vlan_ranges)."),
    cfg.StrOpt("bridge_cidr", default="100.64.0.0/16",
               help="The CIDR of every tenant's bridge subnet (one L2 segment per tenant: "
                    "tenants may share it). Each bottom router gets one IP of it."),
    cfg.IntOpt("workers", default=2, min=1, help="Router jobs run at once by one engine."),
    cfg.FloatOpt("lease", default=120.0, min=5.0,
                 help="Seconds an engine holds a router job before another may take it."),
    cfg.FloatOpt("scan_interval", default=2.0, min=0.1,
                 help="Seconds between two looks for new router jobs."),
    cfg.FloatOpt("retry_base", default=5.0, min=0.1,
                 help="Seconds before the first retry of a FAILed router job (doubled at "
                      "each failure, at most retry_cap)."),
    cfg.FloatOpt("retry_cap", default=300.0, min=1.0,
                 help="Most seconds between two retries of a FAILed router job."),
]


def register_opts(conf):
    conf.register_group(network_group)
    conf.register_opts(NETWORK_OPTS, group=network_group)


def list_opts():
    return [(network_group, NETWORK_OPTS)]
