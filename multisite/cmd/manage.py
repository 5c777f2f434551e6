"""multisite-manage: database schema management."""

import sys

from oslo_config import cfg

from multisite import cmd
from multisite.db import migration
from multisite.objects import quotas


def do_db_sync(conf):
    migration.db_sync(conf, version=conf.command.version or "head",
                      default_limits=quotas.config_defaults(conf))
    print(f"Database is at version {migration.db_version(conf)}")


def do_db_version(conf):
    print(migration.db_version(conf) or "None (no schema)")


def add_command_parsers(subparsers):
    parser = subparsers.add_parser("db_sync", help="Create or upgrade the database schema.")
    parser.add_argument("version", nargs="?", help="Target revision (default: head).")
    parser.set_defaults(func=do_db_sync)
    parser = subparsers.add_parser("db_version", help="Print the schema revision.")
    parser.set_defaults(func=do_db_version)


command_opt = cfg.SubCommandOpt("command", title="Commands", handler=add_command_parsers,
                                help="Available commands")


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite management.", cli_opts=[command_opt])
    try:
        conf.command.func(conf)
    except Exception as exc:  # an operator tool: one clear line, not a traceback
        print(f"multisite-manage: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
