"""multisite quota defaults|show|update|detail|sync|delete|sync-status|settings."""

import sys

from multisite.cli import common
from multisite.client import quotas as quota_api

LIMIT_COLUMNS = ("Quota", "Limit")


class DefaultsQuota(common.Lister):
    """Show the default limits of every project."""

    def take_action(self, parsed_args):
        values = common.client(self.app).quotas.defaults()
        return LIMIT_COLUMNS, common.sorted_quota_rows(values)


class ShowQuota(common.ProjectOption, common.Lister):
    """Show the global limits of a project (defaults merged with its own limits)."""

    def take_action(self, parsed_args):
        values = common.client(self.app).quotas.get(parsed_args.project)
        return LIMIT_COLUMNS, common.sorted_quota_rows(values)


class UpdateQuota(common.Lister):
    """Set global limits of a project (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("project", metavar="<project-id>", help="Project to update")
        common.add_limit_options(parser)
        return parser

    def take_action(self, parsed_args):
        limits = common.limits_from(parsed_args)
        values = common.client(self.app).quotas.update(parsed_args.project, **limits)
        return LIMIT_COLUMNS, common.sorted_quota_rows(values)


class DetailQuota(common.ProjectOption, common.Lister):
    """Show a project's limits and its usage summed over all regions."""

    def take_action(self, parsed_args):
        detail = common.client(self.app).quotas.detail(parsed_args.project)
        if detail["unreachable_regions"]:
            sys.stderr.write("WARNING: usage excludes unreachable regions: "
                             + ", ".join(detail["unreachable_regions"]) + "\n")
        limits, usage = detail["limits"], detail["usage"]
        keys = [key for key, _ in common.sorted_quota_rows({**limits, **usage})]
        return ("Quota", "Usage", "Limit"), [(k, usage.get(k, 0), limits.get(k)) for k in keys]


class SyncQuota(common.Command):
    """Rebalance a project's limits across regions now (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("project", metavar="<project-id>", help="Project to sync")
        return parser

    def take_action(self, parsed_args):
        common.client(self.app).quotas.sync(parsed_args.project)
        self.app.stdout.write(
            f"Request to sync quota for project {parsed_args.project} has been triggered.\n")


class DeleteQuota(common.Command):
    """Delete all of a project's limits, or only the chosen resources (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("project", metavar="<project-id>", help="Project")
        parser.add_argument("--resource", dest="resources", action="append", metavar="<name>",
                            choices=quota_api.QUOTA_RESOURCES,
                            help="Delete only this limit (repeat for several)")
        return parser

    def take_action(self, parsed_args):
        client = common.client(self.app)
        client.quotas.delete(parsed_args.project, resources=parsed_args.resources)
        which = ", ".join(parsed_args.resources) if parsed_args.resources else "all"
        self.app.stdout.write(
            f"Deleted {which} quota limits of project {parsed_args.project}.\n")


class SyncStatusQuota(common.ProjectOption, common.Lister):
    """Show per region how the last quota rebalance of a project went."""

    def take_action(self, parsed_args):
        answer = common.client(self.app).quotas.sync_summary(parsed_args.project)
        rows = answer["sync_status"]
        columns = ("Region", "Status", "Last Sync At", "Consecutive Failures",
                   "Next Attempt At", "Error")
        keys = ("region", "status", "last_sync_at", "consecutive_failures",
                "next_attempt_at", "error")
        if parsed_args.formatter == "table":
            # a note on stderr: machine formats (json, value...) stay clean
            note = _pending_note(parsed_args.project or "of your token", rows,
                                 answer.get("sync_pending"), answer.get("sync_requested_at"))
            if note:
                self.app.stderr.write(note)
        return columns, [tuple(row.get(key) for key in keys) for row in rows]


def _pending_note(which, rows, pending, requested_at):
    """What the table cannot say: a pass asked for and not finished yet, and since when."""
    since = f" (requested at {requested_at})" if requested_at else ""
    if pending and rows:
        return (f"A rebalance of project {which} requested by `quota sync`{since} is "
                "pending or running; the table shows the last finished one. Run this "
                "again in a moment.\n")
    if pending:
        return (f"No rebalance of project {which} has finished yet: the pass requested by "
                f"`quota sync`{since} is pending or running. Run this again in a moment.\n")
    if not rows:
        return (f"No rebalance of project {which} has finished yet: a pass is pending or "
                "running (at the next periodic pass, or after `quota sync`). Run this again "
                "in a moment.\n")
    return ""


SETTINGS_COLUMNS = ("quota_policy", "quota_sync", "effective_quota_policy")


def _settings_row(values):
    return SETTINGS_COLUMNS, tuple(values.get(key) for key in SETTINGS_COLUMNS)


class ShowQuotaSettings(common.ProjectOption, common.ShowOne):
    """Show how a project's limits are rebalanced (policy, opt-in/opt-out)."""

    def take_action(self, parsed_args):
        return _settings_row(common.client(self.app).quotas.settings(parsed_args.project))


class SetQuotaSettings(common.ShowOne):
    """Choose a project's balancing policy and opt it in or out of rebalancing (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("project", metavar="<project-id>", help="Project")
        parser.add_argument("--policy", choices=("kingbird", "strict", "default"),
                            help="'strict': region limits never add up to more than the "
                                 "global limit; 'kingbird': the original formula; "
                                 "'default': the deployment's [DEFAULT] quota_policy")
        sync = parser.add_mutually_exclusive_group()
        sync.add_argument("--sync", dest="quota_sync", action="store_const", const=True,
                          help="Rebalance this project even without Multisite limits")
        sync.add_argument("--no-sync", dest="quota_sync", action="store_const", const=False,
                          help="Never rebalance this project")
        sync.add_argument("--default-sync", dest="quota_sync", action="store_const",
                          const="default", help="Back to the deployment's default")
        return parser

    def take_action(self, parsed_args):
        settings = {}
        if parsed_args.policy:
            settings["quota_policy"] = (None if parsed_args.policy == "default"
                                        else parsed_args.policy)
        if parsed_args.quota_sync is not None:
            settings["quota_sync"] = (None if parsed_args.quota_sync == "default"
                                      else parsed_args.quota_sync)
        if not settings:
            raise common.CommandError("Nothing to set: give --policy and/or a sync option")
        values = common.client(self.app).quotas.update_settings(parsed_args.project, **settings)
        return _settings_row(values)
