"""multisite inventory list|summary."""

import sys

from multisite.cli import common

TYPES = ("servers", "volumes", "networks", "subnets", "ports", "routers", "floating_ips",
         "security_groups", "keypairs", "images")
# The column that says most about each type, shown as DETAIL.
DETAIL = {"servers": "status", "volumes": "status", "networks": "status", "subnets": "cidr",
          "ports": "fixed_ips", "routers": "external_gateway_ips",
          "floating_ips": "floating_ip_address", "security_groups": "description",
          "keypairs": "fingerprint", "images": "status"}


def report_freshness(body, out=None):
    """Unreachable regions and the answer's age, on stderr (the table stays parsable)."""
    out = out or sys.stderr
    for problem in body.get("unreachable_regions", ()):
        out.write(f"WARNING: region {problem['region']} unreachable: {problem['reason']}\n")
    for problem in body.get("errors", ()):
        out.write(f"WARNING: {problem['region']} {problem['type']}: {problem['reason']}\n")
    out.write(f"Read from {len(body.get('regions', ()))} regions at {body.get('read_at')} "
              f"(age {body.get('age')} s)\n")


class _Scoped(common.Lister):
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--project", metavar="<project-id>",
                            help="Project (admin; default: the project of your token)")
        parser.add_argument("--region", metavar="<region>", help="Only this region")
        parser.add_argument("--refresh", action="store_true",
                            help="Read the regions again rather than the cached answer")
        return parser


class ListInventory(_Scoped):
    """List a project's resources in every region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--type", choices=TYPES, help="Only this type of resource")
        parser.add_argument("--name", metavar="<name>", help="Only resources of this name")
        return parser

    def take_action(self, parsed_args):
        items, body = common.client(self.app).addresses.inventory(
            project_id=parsed_args.project, resource_type=parsed_args.type,
            region=parsed_args.region, name=parsed_args.name, refresh=parsed_args.refresh)
        report_freshness(body, self.app.stderr)
        rows = [(i["region"], i["type"], i["id"], i.get("name"), _text(i.get(DETAIL[i["type"]])))
                for i in items]
        return ("Region", "Type", "ID", "Name", "Detail"), rows


class SummaryInventory(_Scoped):
    """Count a project's resources per type and region."""

    def take_action(self, parsed_args):
        body = common.client(self.app).addresses.inventory_summary(
            project_id=parsed_args.project, region=parsed_args.region,
            refresh=parsed_args.refresh)
        report_freshness(body, self.app.stderr)
        rows = [(kind, region, count) for kind, counts in body["summary"].items()
                for region, count in sorted(counts["regions"].items())]
        return ("Type", "Region", "Count"), rows


def _text(value):
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value
