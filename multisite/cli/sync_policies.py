"""multisite sync policy create|list|show|delete|audit (/v2/sync-policies)."""

from multisite.cli import common
from multisite.client import sync_policies as policy_api

LIST_COLUMNS = ("ID", "RESOURCE_TYPE", "RESOURCES", "SOURCE", "TARGETS", "ON_DRIFT")
TARGET_COLUMNS = ("TARGET", "STATE", "DETAIL", "AUDITED_AT", "REPAIRED_AT")


def _joined(value):
    return value if isinstance(value, str) else ",".join(value)


def _list_row(policy):
    return (policy["id"], policy["resource_type"], _joined(policy["resources"]),
            policy["source"], _joined(policy["targets"]), policy["on_drift"])


def target_table(policy):
    """One line per target: its state, and what differs or failed."""
    rows = []
    for target in policy.get("targets_state", []):
        detail = "; ".join(f"{d['resource']}: {d['detail']}" if d.get("resource")
                           else d["detail"] for d in target.get("detail") or [])
        rows.append((target["region"], target["state"], detail, target.get("audited_at"),
                     target.get("repaired_at")))
    return TARGET_COLUMNS, rows


class CreatePolicy(common.Lister):
    """Keep resources converged from a source region (audited periodically)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--resource-type", dest="resource_type", required=True,
                            choices=policy_api.RESOURCE_TYPES)
        parser.add_argument("--resource", dest="resources", action="append",
                            metavar="<name-or-id>",
                            help="Resource to keep in sync (repeat); none: all of the type")
        parser.add_argument("--source", required=True, metavar="<region>")
        parser.add_argument("--target", dest="targets", action="append", metavar="<region>",
                            help="Target region (repeat); none: every other region, "
                                 "including regions added later")
        parser.add_argument("--on-drift", dest="on_drift", choices=("observe", "enforce"),
                            default="observe", help="observe (report) or enforce (repair)")
        parser.add_argument("--propagate-deletes", action="store_true",
                            help="Delete in the targets what is deleted in the source")
        parser.add_argument("--force", action="store_true",
                            help="Take over differing same-named resources in the targets")
        return parser

    def take_action(self, parsed_args):
        policy = common.client(self.app).sync_policies.create(
            resource_type=parsed_args.resource_type,
            resources=parsed_args.resources or "all", source=parsed_args.source,
            targets=parsed_args.targets or "all", on_drift=parsed_args.on_drift,
            propagate_deletes=parsed_args.propagate_deletes, force=parsed_args.force)
        return LIST_COLUMNS, [_list_row(policy)]


class ListPolicies(common.Lister):
    """List the sync policies of your project (all projects with --all-projects, admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--all-projects", action="store_true")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<policy-id>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).sync_policies.list(
            all_projects=parsed_args.all_projects, limit=parsed_args.limit,
            marker=parsed_args.marker)
        return LIST_COLUMNS, [_list_row(p) for p in found]


class _OnePolicy(common.Lister):
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("policy_id", metavar="<policy-id>")
        return parser


class ShowPolicy(_OnePolicy):
    """Show the state of each target of a sync policy at its last audit."""

    def take_action(self, parsed_args):
        return target_table(common.client(self.app).sync_policies.get(parsed_args.policy_id))


class AuditPolicy(_OnePolicy):
    """Audit a sync policy now (repairing drift in enforce mode) and show the result."""

    def take_action(self, parsed_args):
        return target_table(common.client(self.app).sync_policies.audit(parsed_args.policy_id))


class DeletePolicy(common.Command):
    """Delete a sync policy (what it synced stays in the targets)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("policy_id", metavar="<policy-id>")
        return parser

    def take_action(self, parsed_args):
        common.client(self.app).sync_policies.delete(parsed_args.policy_id)
        self.app.stdout.write(f"Sync policy {parsed_args.policy_id} deleted.\n")
