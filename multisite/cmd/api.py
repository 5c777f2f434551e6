"""multisite-api: the REST API, served by api_workers processes."""

import logging
import os
import shutil
import sys

from multisite import cmd
from multisite.api import app as api_app
from multisite.cmd import server

LOG = logging.getLogger(__name__)


def uwsgi_command(conf, binary):
    """argv and environment that serve multisite.wsgi.api under uWSGI as this conf says."""
    argv = [binary, "--http11-socket", f"{conf.bind_host}:{conf.bind_port}", "--http-keepalive",
            "--master", "--die-on-term", "--need-app", "--lazy-apps",
            "--processes", str(conf.api_workers), "--threads", "8",
            "--procname-prefix-spaced", "multisite-api", "--disable-logging",
            "--module", "multisite.wsgi.api:application"]
    env = dict(os.environ, MULTISITE_CONFIG_FILE=",".join(
        os.path.abspath(f) for f in conf.config_file or []))
    if conf.config_dir:
        env["MULTISITE_CONFIG_DIR"] = os.path.abspath(conf.config_dir)
    return argv, env


def _exec_uwsgi(conf):
    binary = shutil.which("uwsgi", path=os.path.dirname(sys.executable)) or shutil.which(
        "uwsgi")
    if not binary:
        sys.exit("multisite-api: api_server = uwsgi, but uWSGI is not installed "
                 "(pip install 'multisite[uwsgi]' installs pyuwsgi)")
    argv, env = uwsgi_command(conf, binary)
    LOG.info("Starting multisite-api under uWSGI on %s:%s with %d workers "
             "(auth_strategy=%s)", conf.bind_host, conf.bind_port, conf.api_workers,
             conf.auth_strategy)
    os.execve(binary, argv, env)


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite REST API (Kingbird compatible).")
    cmd.exit_if_auth_unusable(conf, "multisite-api")
    if conf.api_server == "uwsgi":
        _exec_uwsgi(conf)
    LOG.info("Starting multisite-api on %s:%s with %d workers (auth_strategy=%s)",
             conf.bind_host, conf.bind_port, conf.api_workers, conf.auth_strategy)
    server.APIServer(conf, lambda: api_app.build_app(conf)).run()


if __name__ == "__main__":
    main()
