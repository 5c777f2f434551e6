"""Entry point for oslo-config-generator."""

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


def list_opts():
    merged = {}
    for module in (api, common, global_limit, dashboard, database, engine, sync, health,
                   notifications):
        for group, opts in module.list_opts():
            name = group if isinstance(group, str) else group.name
            merged.setdefault(name, []).extend(opts)
    return sorted(merged.items(), key=lambda item: (item[0] != "DEFAULT", item[0]))
