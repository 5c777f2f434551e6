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
    path = state_dir()
    return [
        ("connection", f"sqlite:///{os.path.join(path, 'multisite.sqlite')}", "database"),
        ("transport_url", "fake://", None),
        ("auth_strategy", "noauth", None),
        ("api_workers", 1, None),
        ("backend_url", f"file://{os.path.join(path, 'locks')}", "coordination"),
    ]


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite API and engine in one process.",
                       defaults=embedded_defaults())
    cmd.exit_if_auth_unusable(conf, "multisite-all-in-one")
    os.makedirs(state_dir(), exist_ok=True)
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
