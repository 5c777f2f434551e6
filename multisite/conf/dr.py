"""Disaster recovery options: [dr] (checkpoint windows, polling, leases, workers)."""

from oslo_config import cfg

dr_group = cfg.OptGroup("dr", title="Disaster recovery (protection plans, checkpoints)")
DR_OPTS = [
    cfg.FloatOpt("pause_timeout", default=60.0, min=1.0,
                 help="Seconds one server may take to show PAUSED after a pause; longer "
                      "fails the checkpoint (its servers are unpaused)."),
    cfg.FloatOpt("snapshot_timeout", default=300.0, min=1.0,
                 help="Seconds the snapshots of a pause window may take: the bound of the "
                      "window. A snapshot not available by then fails the checkpoint; the "
                      "servers are unpaused in any case."),
    cfg.FloatOpt("poll_interval", default=1.0, min=0.05,
                 help="Seconds between two status reads of servers, snapshots and backups."),
    cfg.IntOpt("workers", default=4, min=1,
               help="Checkpoints one engine runs at the same time."),
    cfg.IntOpt("snapshot_concurrency", default=32, min=1,
               help="Snapshot requests one engine sends at once (all of a window's snapshots "
                    "start together up to this number)."),
    cfg.IntOpt("backup_concurrency", default=4, min=1,
               help="Backups of one checkpoint running in the source region's Cinder at once "
                    "(the next ones are requested as these end). Cinder's posix and NFS "
                    "backup drivers hold a whole chunk (backup_file_size, about 2 GB by "
                    "default) of each running backup in memory: 16 backups of 1 GB volumes "
                    "requested together made the devcloud's cinder-backup use 12.8 GB and "
                    "be killed for lack of memory."),
    cfg.FloatOpt("lease", default=30.0, min=5.0,
                 help="Seconds an engine holds a checkpoint; another engine resumes it (and "
                      "unpauses its servers) after this long without a renewal."),
    cfg.FloatOpt("schedule_interval", default=30.0, min=1.0,
                 help="Seconds between two looks at the plans that have a schedule (a plan's "
                      "checkpoint starts at most this late)."),
    cfg.FloatOpt("scan_interval", default=5.0, min=0.1,
                 help="Seconds between two scans for checkpoints and plans to work on."),
    cfg.IntOpt("confirm_ttl", default=600, min=10,
               help="Seconds a failover's confirmation token (returned by a first call "
                    "without one) stays valid."),
    cfg.FloatOpt("restore_timeout", default=1800.0, min=10.0,
                 help="Seconds from a restore's request until its servers must be ACTIVE; "
                      "later, the restore fails naming the servers still building."),
    cfg.StrOpt("restore_role", default="admin",
               help="The role the service user is given in a plan's project before a restore "
                    "creates the project's volumes, networks, ports and servers with a token "
                    "scoped there (admin: the restore reads the backups the service's project "
                    "holds)."),
    cfg.StrOpt("drill_project", default="",
               help="The project (id) a drill restores into when its request names none: "
                    "a project kept for drills, so that a drill never creates anything in "
                    "the VNF's own project. Empty: the plan's project (the drill's names "
                    "prefixed, on its own networks). A failover always restores into the "
                    "plan's project."),
    cfg.FloatOpt("test_hold_window", default=0.0, min=0.0,
                 help="Testing only: seconds a pause window stays open after its snapshots "
                      "(servers paused), so that a test can kill the engine inside it. 0 in "
                      "production."),
]


def register_opts(conf):
    conf.register_group(dr_group)
    conf.register_opts(DR_OPTS, group=dr_group)


def list_opts():
    return [(dr_group, DR_OPTS)]
