"""[notifications] options: listening to every region's notification bus (the event feed)."""

from oslo_config import cfg

notifications_group = cfg.OptGroup("notifications", title="The central event feed")
NOTIFICATIONS_OPTS = [
    cfg.MultiStrOpt("region_transport_url", default=[],
                    help="REGION_NAME=TRANSPORT_URL, once per region: the oslo.messaging "
                         "transport on which that region's services publish notifications "
                         "(e.g. RegionOne=rabbit://user:pass@host:5672/regionone). A "
                         "region without one has no notifications in the feed.",
                    secret=True),
    cfg.ListOpt("topics", default=["notifications"],
                help="Notification topics listened to in every region (the services' "
                     "[oslo_messaging_notifications] topics)."),
    cfg.ListOpt("exchanges",
                default=["nova", "neutron", "cinder", "glance", "keystone", "heat",
                         "openstack"],
                help="Exchanges listened to in every region, with each topic. Each "
                     "service publishes on its own control exchange (nova, neutron, "
                     "cinder, glance, keystone, heat); a service that sets none publishes "
                     "on 'openstack' (cinder-volume's volume.* and backup.* among them)."),
    cfg.StrOpt("pool", default="multisite-events",
               help="Listener pool name: every engine joins the same pool, so each "
                    "notification is delivered to one of them (its own queue per topic, "
                    "leaving the services' default queues alone)."),
    cfg.IntOpt("listeners_per_region", default=1, min=1,
                help="Listeners (each with its own connection and thread) per region and "
                     "engine on the pool's queue: more consume a busy bus faster."),
    cfg.IntOpt("batch_size", default=200, min=1,
               help="Notifications stored in one database transaction."),
    cfg.IntOpt("prefetch", default=0, min=0,
               help="Unacknowledged notifications the bus may send ahead to a listener "
                    "(AMQP prefetch count); 0: twice batch_size."),
    cfg.FloatOpt("batch_timeout", default=0.5, min=0.01,
                 help="Seconds a listener waits to fill a batch before storing it."),
    cfg.IntOpt("retention_days", default=30, min=0,
               help="Events older than this many days are deleted (0: no age limit)."),
    cfg.IntOpt("retention_count", default=1000000, min=0,
               help="At most this many events are kept, the newest (0: no count limit)."),
    cfg.FloatOpt("prune_interval", default=300.0, min=1.0,
                 help="Seconds between two retention passes."),
]


def register_opts(conf):
    conf.register_group(notifications_group)
    conf.register_opts(NOTIFICATIONS_OPTS, group=notifications_group)


def list_opts():
    return [(notifications_group, NOTIFICATIONS_OPTS)]
