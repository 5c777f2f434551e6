"""API gateway options: [gateway] (the big region's Nova/Cinder/Neutron endpoint)."""

from oslo_config import cfg

gateway_group = cfg.OptGroup("gateway", title="multisite-gateway: one endpoint for the pods")
GATEWAY_OPTS = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="The host IP multisite-gateway listens on."),
    cfg.PortOpt("bind_port", default=8119, help="The port multisite-gateway listens on."),
    cfg.IntOpt("workers", default=2, min=1, help="Gateway worker processes."),
    cfg.FloatOpt("pod_timeout", default=60.0, min=1.0,
                 help="Seconds to wait for a pod's answer before the call is a 503 naming "
                      "the pod."),
    cfg.IntOpt("list_max_per_pod", default=1000, min=1,
               help="Most servers read from one pod for a merged `server list` (the pods "
                    "are read whole, merged, sorted and paginated by the gateway)."),
    cfg.FloatOpt("adopt_interval", default=60.0, min=1.0,
                 help="Seconds between two passes of the engine over the pods holding "
                      "interrupted gateway creates (routings with no bottom id) or, with "
                      "forget_deleted, any routing of a server, volume or snapshot."),
    cfg.FloatOpt("adopt_grace", default=300.0, min=0.0,
                 help="Age in seconds before an incomplete routing counts as interrupted "
                      "(a create still in flight is never touched): its tagged server is "
                      "adopted, or the routing forgotten if the pod has none."),
    cfg.BoolOpt("forget_deleted", default=True,
                help="On each adopt pass, also forget the routings of servers, volumes and "
                     "snapshots the pod no longer has (deleted without a later GET through "
                     "the gateway): one id listing per type and pod, and a GET of each "
                     "missing item to confirm its 404. Routings younger than adopt_grace "
                     "are left alone. Off: such routings stay until a GET through the "
                     "gateway sees the 404 (and DELETE /v1.0/pods refuses the pod)."),
    cfg.FloatOpt("keypair_sync_timeout", default=60.0, min=1.0,
                 help="Seconds a server create waits for the keypair sync to copy its "
                      "keypair from the home pod to the server's pod."),
    cfg.FloatOpt("image_ensure_timeout", default=300.0, min=1.0,
                 help="Seconds a server or volume create waits for the lazy copy of an "
                      "image its pod lacks (the copy of POST /v2/images/{id}/ensure); a "
                      "copy not active in time is a 503 naming the pod and the copy, and "
                      "the copy goes on."),
    cfg.FloatOpt("image_check_ttl", default=60.0, min=0.0,
                 help="Seconds a server or volume create trusts an earlier read that found "
                      "its image active in the pod (same pod, project and image): no "
                      "Glance read for the creates of a scale-out. A create the pod "
                      "refuses reads again on the next one. 0: read at every create."),
    cfg.StrOpt("test_pause_at", default="", choices=["", "before_pod", "after_pod"],
               help="TEST ONLY, never in production: a create stops for an hour right "
                    "after writing its routing (before_pod: before the pod is asked; "
                    "after_pod: after the pod answered, before the routing is completed), "
                    "logging 'TEST HOOK: paused', so that a test can kill -9 the gateway "
                    "mid-create."),
    cfg.BoolOpt("in_all_in_one", default=True,
                help="multisite-all-in-one also serves the gateway on bind_host:bind_port "
                     "(one worker process beside the API)."),
    cfg.StrOpt("interface", default="public", choices=["public", "internal", "admin"],
               help="Which catalog endpoint of the pods the gateway forwards to."),
]


def register_opts(conf):
    conf.register_group(gateway_group)
    conf.register_opts(GATEWAY_OPTS, group=gateway_group)


def list_opts():
    return [(gateway_group, GATEWAY_OPTS)]
