"""multisite-manage: database schema management."""

import sys

from oslo_config import cfg

from multisite import cmd
from multisite.db import migration
from multisite.objects import quotas, services


def do_db_sync(conf):
    migration.db_sync(conf, version=conf.command.version or "head",
                      default_limits=quotas.config_defaults(conf))
    print(f"Database is at version {migration.db_version(conf)}")


def do_db_version(conf):
    print(migration.db_version(conf) or "None (no schema)")


def do_service_list(conf):
    rows = services.list_services(conf)
    print(f"{'id':36}  {'host':20}  {'binary':18}  {'reports':>7}  last report (UTC)")
    for row in rows:
        print(f"{row['id']:36}  {row['host'][:20]:20}  {row['binary'][:18]:18}  "
              f"{row['report_count']:>7}  {row['updated_at']:%Y-%m-%d %H:%M:%S}")


def do_service_cleanup(conf):
    removed = services.cleanup_stale(conf, max_age=2 * conf.report_interval)
    print(f"Removed {removed} service(s) silent for more than {2 * conf.report_interval} s")


def add_command_parsers(subparsers):
    parser = subparsers.add_parser("db_sync", help="Create or upgrade the database schema.")
    parser.add_argument("version", nargs="?", help="Target revision (default: head).")
    parser.set_defaults(func=do_db_sync)
    parser = subparsers.add_parser("db_version", help="Print the schema revision.")
    parser.set_defaults(func=do_db_version)
    parser = subparsers.add_parser("service_list", help="List engine workers and liveness.")
    parser.set_defaults(func=do_service_list)
    parser = subparsers.add_parser(
        "service_cleanup", help="Forget engines silent for more than 2 report_intervals.")
    parser.set_defaults(func=do_service_cleanup)


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
