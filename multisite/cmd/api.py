"""multisite-api: the REST API, served by api_workers processes."""

import logging
import sys

from multisite import cmd
from multisite.api import app as api_app
from multisite.cmd import server

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite REST API (Kingbird compatible).")
    problem = api_app.auth_config_problem(conf)
    if problem:
        LOG.error("%s", problem)
        sys.exit(f"multisite-api: {problem}")
    LOG.info("Starting multisite-api on %s:%s with %d workers (auth_strategy=%s)",
             conf.bind_host, conf.bind_port, conf.api_workers, conf.auth_strategy)
    server.APIServer(conf, lambda: api_app.build_app(conf)).run()


if __name__ == "__main__":
    main()
