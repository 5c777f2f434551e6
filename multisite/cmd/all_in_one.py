"""multisite-all-in-one: API and engine in one process on the embedded defaults.

SQLite file database, in-process messaging (fake://), local file locks, and
noauth unless a config file says otherwise.
"""

import logging
import os

from multisite import cmd
from multisite.api import app as api_app
from multisite.cmd import server
from multisite.db import api as db_api
from multisite.db import migration
from multisite.engine import service
from multisite.objects import quotas

LOG = logging.getLogger(__name__)


def state_dir():
    return os.path.abspath(os.environ.get("MULTISITE_STATE_DIR", "state"))


def embedded_defaults():
    return [
        ("state_path", state_dir(), None),
        ("transport_url", "fake://", None),
        ("auth_strategy", "noauth", None),
        ("api_workers", 1, None),
        # noauth trusts the headers: only this machine may reach it
        ("bind_host", "127.0.0.1", None),
    ]


def state_defaults(conf):
    """The database and the locks under state_path, unless the config names them.

    Set after the config is read, so a config that moves state_path moves them too, and
    nothing is created in the working directory when the config puts everything elsewhere.
    """
    conf.set_default("connection",
                     f"sqlite:///{os.path.join(conf.state_path, 'multisite.sqlite')}",
                     group="database")
    conf.set_default("backend_url", f"file://{os.path.join(conf.state_path, 'locks')}",
                     group="coordination")


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite API and engine in one process.",
                       defaults=embedded_defaults())
    state_defaults(conf)
    cmd.exit_if_auth_unusable(conf, "multisite-all-in-one")
    migration.db_sync(conf, default_limits=quotas.config_defaults(conf))
    db_api.dispose_all()
    engines = {}

    def post_worker_init(worker):
        engines[os.getpid()] = engine = service.EngineService(conf)
        engine.start()

    def worker_exit(server_, worker):
        engine = engines.pop(os.getpid(), None)
        if engine is not None:
            engine.stop(graceful=False)

    LOG.info("multisite-all-in-one: API on %s:%s, database %s, transport %s, auth %s",
             conf.bind_host, conf.bind_port, conf.database.connection, conf.transport_url,
             conf.auth_strategy)
    server.APIServer(conf, lambda: api_app.build_app(conf),
                     post_worker_init=post_worker_init, worker_exit=worker_exit).run()


if __name__ == "__main__":
    main()
