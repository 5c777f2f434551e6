"""multisite-all-in-one: API and engine in one process on the embedded defaults.

SQLite file database, in-process messaging (fake://), local file locks, and
noauth unless a config file says otherwise.
"""

import atexit
import contextlib
import ctypes
import logging
import os
import signal

from multisite import cmd
from multisite.api import app as api_app
from multisite.cmd import gateway as gateway_cmd
from multisite.cmd import server
from multisite.db import api as db_api
from multisite.db import migration
from multisite.engine import service
from multisite.gateway import app as gateway_app
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


def start_gateway(conf):
    """multisite-gateway in a child process (one worker), stopped with the all-in-one.

    The pid of the child, or None when [gateway] in_all_in_one is off.
    """
    if not conf.gateway.in_all_in_one:
        return None
    conf.set_override("workers", 1, group="gateway")
    pid = os.fork()
    if pid == 0:  # the child: dies with its parent (Linux), whatever kills the parent
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        code = 0
        try:
            gateway_cmd.GatewayServer(conf, lambda: gateway_app.build_app(conf)).run()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - never run the API's code in the child
            LOG.exception("multisite-gateway stopped")
            code = 1
        os._exit(code)

    parent = os.getpid()

    def stop():
        if os.getpid() != parent:  # an API worker exiting (it inherited the hook)
            return
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)

    atexit.register(stop)
    return pid


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite API and engine in one process.",
                       defaults=embedded_defaults())
    state_defaults(conf)
    cmd.exit_if_auth_unusable(conf, "multisite-all-in-one")
    if conf.gateway.in_all_in_one:
        cmd.exit_if_auth_unusable(conf, "multisite-all-in-one",
                                  ("[gateway] bind_host", conf.gateway.bind_host))
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

    gateway = start_gateway(conf)
    LOG.info("multisite-all-in-one: API on %s:%s, database %s, transport %s, auth %s, "
             "gateway %s", conf.bind_host, conf.bind_port, conf.database.connection,
             conf.transport_url, conf.auth_strategy,
             f"on {conf.gateway.bind_host}:{conf.gateway.bind_port}" if gateway else "off")
    server.APIServer(conf, lambda: api_app.build_app(conf),
                     post_worker_init=post_worker_init, worker_exit=worker_exit).run()


if __name__ == "__main__":
    main()
