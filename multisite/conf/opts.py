"""Entry point for oslo-config-generator."""

from multisite.conf import (
    api,
    common,
    database,
    engine,
    global_limit,
    health,
    identity,
    keyagent,
    notifications,
    sync,
)


def list_opts():
    merged = {}
    for module in (api, common, global_limit, database, engine, sync, health, identity,
                   keyagent, notifications):
        for group, opts in module.list_opts():
            name = group if isinstance(group, str) else group.name
            merged.setdefault(name, []).extend(opts)
    return sorted(merged.items(), key=lambda item: (item[0] != "DEFAULT", item[0]))
