"""Entry points of the Multisite services."""

import os
import sys

from oslo_config import cfg
from oslo_log import log as logging

from multisite import rpc
from multisite.conf import CONF

LOG = logging.getLogger(__name__)
_LOGGING_REGISTERED = False


def prepare(argv=None, *, description=None, cli_opts=None, defaults=None):
    """Register logging, parse the command line and config files, set up logging."""
    global _LOGGING_REGISTERED
    if not _LOGGING_REGISTERED:
        logging.register_options(CONF)
        logging.set_defaults(default_log_levels=logging.get_default_log_levels() + [
            "stevedore=WARN", "oslo_messaging=INFO", "amqp=WARN", "kombu=WARN",
            "keystonemiddleware=INFO", "alembic=WARN", "gunicorn.error=INFO"])
        _LOGGING_REGISTERED = True
    rpc.register_opts(CONF)
    if cli_opts:
        CONF.register_cli_opts(cli_opts)
    for name, value, group in defaults or ():
        CONF.set_default(name, value, group=group)
    try:
        CONF(sys.argv[1:] if argv is None else argv, project="multisite",
             description=description)
    except (cfg.ConfigFilesNotFoundError, cfg.ConfigFileParseError,
            cfg.ConfigFileValueError, cfg.ConfigDirNotFoundError) as exc:
        # one line, like an argument error: the operator's mistake, not our traceback
        prog = os.path.basename(sys.argv[0]) or "multisite"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        sys.exit(2)
    logging.setup(CONF, "multisite")
    return CONF


def exit_if_auth_unusable(conf, prog, bind=None):
    """Stop at start-up, with the reason, when the API could not validate any token.
    `bind`: (option name, host) the process serves on, if not the API's `bind_host`."""
    from multisite.api import app as api_app

    problem = api_app.auth_config_problem(conf, bind)
    if problem:
        LOG.error("%s", problem)
        sys.exit(f"{prog}: {problem}")
