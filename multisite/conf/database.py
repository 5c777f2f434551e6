"""[database] options (names as oslo.db's, so existing files load)."""

from oslo_config import cfg

group = cfg.OptGroup("database", title="Database connection")

OPTS = [
    cfg.StrOpt("connection", secret=True,
               default="sqlite:////var/lib/multisite/multisite.sqlite",
               help="SQLAlchemy URL. 'mysql://' is served by PyMySQL and 'postgresql://' "
                    "by psycopg2."),
    cfg.IntOpt("max_pool_size", default=5, help="Connection pool size (not for SQLite)."),
    cfg.IntOpt("max_overflow", default=50, help="Pool overflow (not for SQLite)."),
    cfg.IntOpt("pool_timeout", default=30, help="Seconds to wait for a pooled connection."),
    cfg.IntOpt("connection_recycle_time", default=3600,
               help="Recycle pooled connections older than this, in seconds."),
    cfg.IntOpt("max_retries", default=10,
               help="Attempts to connect at start-up before giving up (-1 forever)."),
    cfg.IntOpt("retry_interval", default=2, help="Seconds between connection attempts."),
    cfg.BoolOpt("connection_debug", default=False, help="Log every SQL statement."),
    cfg.StrOpt("sqlite_synchronous", default="NORMAL", choices=("NORMAL", "FULL"),
               help="SQLite only (WAL mode). NORMAL: a commit survives the crash or kill "
                    "of any process, but the last commits before a power loss or OS crash "
                    "may be rolled back (the database stays consistent). FULL: one fsync "
                    "per commit, durable against power loss too, slower."),
]


def register_opts(conf):
    conf.register_group(group)
    conf.register_opts(OPTS, group=group)


def list_opts():
    return [(group, OPTS)]
