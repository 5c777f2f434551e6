"""multisite-gateway: the big region's compute endpoint, served by [gateway] workers."""

import logging

from multisite import cmd
from multisite.cmd import server
from multisite.gateway import app as gateway_app

LOG = logging.getLogger(__name__)


class GatewayServer(server.APIServer):
    """gunicorn on [gateway] bind_host:bind_port with [gateway] workers."""

    def load_config(self):
        super().load_config()
        opts = self.conf.gateway
        self.cfg.set("bind", [f"{opts.bind_host}:{opts.bind_port}"])
        self.cfg.set("workers", opts.workers)
        self.cfg.set("proc_name", "multisite-gateway")
        self.cfg.set("timeout", int(opts.pod_timeout) + 30)


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite API gateway: one compute endpoint for "
                                         "the pods of the big region.")
    cmd.exit_if_auth_unusable(conf, "multisite-gateway",
                              ("[gateway] bind_host", conf.gateway.bind_host))
    LOG.info("Starting multisite-gateway on %s:%s with %d workers (auth_strategy=%s)",
             conf.gateway.bind_host, conf.gateway.bind_port, conf.gateway.workers,
             conf.auth_strategy)
    GatewayServer(conf, lambda: gateway_app.build_app(conf)).run()


if __name__ == "__main__":
    main()
