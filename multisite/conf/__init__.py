"""oslo.config option groups; an existing kingbird.conf loads unchanged."""

from oslo_config import cfg

from multisite.conf import (
    addresses,
    api,
    common,
    dashboard,
    database,
    dr,
    engine,
    gateway,
    global_limit,
    health,
    identity,
    images,
    keyagent,
    metrics,
    network,
    notifications,
    sync,
    sync_policy,
)

CONF = cfg.CONF
# Every option module, in the order the sample lists them (oslo-config-generator).
MODULES = (api, common, global_limit, dashboard, database, engine, sync, health, identity,
           keyagent, metrics, notifications, addresses, sync_policy, images, gateway,
           dr, network)

for _module in MODULES:
    _module.register_opts(CONF)
