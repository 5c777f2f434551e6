"""oslo.config option groups; an existing kingbird.conf loads unchanged."""

from oslo_config import cfg

from multisite.conf import (
    api,
    common,
    dashboard,
    database,
    engine,
    global_limit,
    health,
    notifications,
    sync,
)

CONF = cfg.CONF

for _module in (api, common, dashboard, database, engine, global_limit, health, notifications,
                sync):
    _module.register_opts(CONF)
