"""A multi-process WSGI server (gunicorn) for the API."""

import logging

from gunicorn.app import base

LOG = logging.getLogger(__name__)


class APIServer(base.BaseApplication):
    """gunicorn with `api_workers` processes on `bind_host:bind_port`."""

    def __init__(self, conf, app_factory, *, post_worker_init=None, worker_exit=None):
        self.conf = conf
        self.app_factory = app_factory
        self.hooks = {"post_worker_init": post_worker_init, "worker_exit": worker_exit}
        super().__init__()

    def load_config(self):
        settings = {
            "bind": f"{self.conf.bind_host}:{self.conf.bind_port}",
            "workers": self.conf.api_workers,
            "worker_class": "gthread",
            "threads": 8,
            "timeout": 120,
            "graceful_timeout": 10,
            "accesslog": None,
            "loglevel": "info",
            "proc_name": "multisite-api",
            "control_socket_disable": True,
        }
        for name, hook in self.hooks.items():
            if hook is not None:
                settings[name] = hook
        for key, value in settings.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()
