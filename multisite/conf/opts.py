"""Entry point for oslo-config-generator."""

from multisite import conf


def list_opts():
    merged = {}
    for module in conf.MODULES:
        for group, opts in module.list_opts():
            name = group if isinstance(group, str) else group.name
            merged.setdefault(name, []).extend(opts)
    return sorted(merged.items(), key=lambda item: (item[0] != "DEFAULT", item[0]))
