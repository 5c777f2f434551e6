"""Address index options: [addresses] (audit period, routable domains, MAC scope)."""

from oslo_config import cfg

addresses_group = cfg.OptGroup("addresses", title="Address index and overlap detection")
ADDRESSES_OPTS = [
    cfg.BoolOpt("audit_enable", default=True,
                help="Run the periodic full audit of every region's addresses."),
    cfg.IntOpt("audit_interval", default=300, min=1,
               help="Seconds between two full address audits (the index is at most this "
                    "old, plus one audit's duration, for a region that answers)."),
    cfg.FloatOpt("audit_timeout", default=120.0, min=1.0,
                 help="Seconds one region may take to list its Neutron objects in an "
                      "audit; a region slower than this keeps its previous index."),
    cfg.MultiStrOpt("routable_domain", default=[],
                    help="Operator-declared routable domain, NAME:SELECTOR=VALUE, one per "
                         "line; SELECTOR is project (a project id), network (an fnmatch "
                         "pattern of network names) or tag (a network tag). Addresses of "
                         "matching networks in every region form domain NAME. The first "
                         "matching line wins; otherwise a subnet from a pool in an address "
                         "scope belongs to that scope's name, else to its project."),
    cfg.StrOpt("mac_scope", default="domain", choices=["domain", "global"],
               help="Where a MAC address must be unique across regions: within one "
                    "routable domain, or globally."),
]

inventory_group = cfg.OptGroup("inventory", title="Live inventory of the regions")
INVENTORY_OPTS = [
    cfg.FloatOpt("cache_ttl", default=30.0, min=0.0,
                 help="Seconds a project's inventory read from the regions is served "
                      "again (its age is shown); 0 reads the regions every time."),
    cfg.FloatOpt("region_timeout", default=5.0, min=0.1,
                 help="Seconds to wait for a region's answers; a region slower than this "
                      "is named in unreachable_regions and the answer comes without it."),
]


def register_opts(conf):
    for group, opts in list_opts():
        conf.register_group(group)
        conf.register_opts(opts, group=group)


def list_opts():
    return [(addresses_group, ADDRESSES_OPTS), (inventory_group, INVENTORY_OPTS)]
