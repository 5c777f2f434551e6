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
    metrics,
    notifications,
    sync,
)

CONF = cfg.CONF
# Every option module, in the order the sample lists them (oslo-config-generator).
MODULES = (api, common, global_limit, dashboard, database, engine, sync, health, metrics,
           notifications)

for _module in MODULES:
    _module.register_opts(CONF)
