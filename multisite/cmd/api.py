"""multisite-api: the REST API, served by api_workers processes."""

import logging

from multisite import cmd
from multisite.api import app as api_app
from multisite.cmd import server

LOG = logging.getLogger(__name__)


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite REST API (Kingbird compatible).")
    cmd.exit_if_auth_unusable(conf, "multisite-api")
    LOG.info("Starting multisite-api on %s:%s with %d workers (auth_strategy=%s)",
             conf.bind_host, conf.bind_port, conf.api_workers, conf.auth_strategy)
    server.APIServer(conf, lambda: api_app.build_app(conf)).run()


if __name__ == "__main__":
    main()
