"""The REST API as a WSGI application, for uWSGI, mod_wsgi or any WSGI server.

`multisite-api` serves the API with gunicorn (`api_workers` processes). Deployments that
run their OpenStack APIs under uWSGI or Apache (as devstack and most distributions do)
point that server at this module instead::

    uwsgi --http-socket 127.0.0.1:8118 --processes 2 --threads 8 --lazy-apps \\
          --env MULTISITE_CONFIG_FILE=/etc/multisite/multisite.conf \\
          --module multisite.wsgi.api:application

`MULTISITE_CONFIG_FILE`: comma-separated configuration files (an existing kingbird.conf
loads unchanged), `MULTISITE_CONFIG_DIR` a configuration directory; unset, oslo.config's
usual places are searched (`/etc/multisite/`, ...). `[DEFAULT] api_server = uwsgi` makes
`multisite-api` itself start uWSGI this way.
Load the application in each worker (uWSGI's `--lazy-apps`), as gunicorn does: database
pools and RPC transports are made per process.
"""

import os

from multisite import cmd
from multisite.api import app as api_app


def init_application(environ=os.environ):
    files = [f for f in environ.get("MULTISITE_CONFIG_FILE", "").split(",") if f.strip()]
    argv = [arg for f in files for arg in ("--config-file", f.strip())]
    if environ.get("MULTISITE_CONFIG_DIR"):
        argv += ["--config-dir", environ["MULTISITE_CONFIG_DIR"]]
    conf = cmd.prepare(argv, description="Multisite REST API (WSGI application).")
    problem = api_app.auth_config_problem(conf)
    if problem:
        # refuse to serve, as multisite-api refuses to start
        raise RuntimeError(problem)
    return api_app.build_app(conf)


application = init_application()
