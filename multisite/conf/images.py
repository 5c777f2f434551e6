"""Image distribution options: [image_distribution] (docs/images.md)."""

from oslo_config import cfg

image_group = cfg.OptGroup("image_distribution", title="Image distribution")
IMAGE_OPTS = [
    cfg.FloatOpt("audit_interval", default=60.0, min=0.5,
                 help="Seconds between two audits of the projects with an image "
                      "distribution mode (auto copies, property repair, the "
                      "multisite_distribution property). image.* notifications of the "
                      "event feed wake a project's audit at once."),
    cfg.IntOpt("workers", default=8, min=1,
               help="Image copies one engine runs at the same time (over every region)."),
    cfg.IntOpt("region_concurrency", default=2, min=1,
               help="Copies one engine runs at once from or to one region, so that a "
                    "rollout to many regions does not saturate the source Glance. A copy "
                    "over the limit waits (requeued after gate_retry seconds)."),
    cfg.FloatOpt("gate_retry", default=1.0, min=0.05,
                 help="Seconds before a copy that found its region at the limit tries "
                      "again."),
    cfg.FloatOpt("scan_interval", default=2.0, min=0.05,
                 help="Seconds between two scans for copies and rollouts to claim (API "
                      "requests wake the scan at once over RPC)."),
    cfg.IntOpt("lease", default=60, min=5,
               help="Seconds a copy or rollout stays claimed by an engine without renewal; "
                    "after a crash, another engine resumes it then."),
    cfg.FloatOpt("rollout_poll", default=1.0, min=0.05,
                 help="Seconds between two looks of a rollout at the copies of its wave."),
    cfg.FloatOpt("ensure_timeout", default=600.0, min=1.0,
                 help="Longest wait of POST /v2/images/{id}/ensure with wait=true."),
    cfg.IntOpt("test_pause_after_bytes", default=0, min=0,
               help="TEST ONLY, never in production: every image upload of the engine (an "
                    "image distribution copy, an os-sync image job, a DR image copy) stops "
                    "for an hour once it has passed this many bytes to the target Glance, "
                    "logging 'TEST HOOK: paused', so that a test can kill -9 the engine "
                    "mid-copy. 0: off."),
]


def register_opts(conf):
    conf.register_group(image_group)
    conf.register_opts(IMAGE_OPTS, group=image_group)


def list_opts():
    return [(image_group, IMAGE_OPTS)]
