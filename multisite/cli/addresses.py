"""multisite address list|show|conflicts|check."""

import time

from multisite import addressing
from multisite.cli import common

KINDS = ("fixed_ip", "allowed_pair", "floating_ip", "gateway_ip", "public_ip", "subnet",
         "pool", "mac")
CONFLICT_KINDS = ("ip", "cidr", "mac", "public_ip")
ENTRY_COLUMNS = ("ID", "Region", "Project", "Kind", "Address", "Network", "Subnet", "Port",
                 "Device")
ENTRY_KEYS = ("id", "region", "project_id", "kind", "address", "network_id", "subnet_id",
              "port_id", "device_id")
CONFLICT_COLUMNS = ("ID", "Kind", "Address", "Domain", "Regions", "Sides", "First seen",
                    "Cleared at")


def entry_rows(entries):
    return [tuple(e.get(k) for k in ENTRY_KEYS) for e in entries]


def side_text(side):
    where = side.get("port_id") or side.get("subnet_id") or side.get("resource_id") or ""
    return f"{side['region']}:{side['project_id'][:8]}:{side['kind']}" + (
        f":{where}" if where else "")


def conflict_row(c):
    return (c["id"], c["kind"], c["address"], c["domain"], ", ".join(c["regions"]),
            "; ".join(side_text(s) for s in c["sides"]), c["first_seen"], c["cleared_at"])


class _Scope:
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--project", metavar="<project-id>",
                            help="Project (admin; default: the project of your token)")
        parser.add_argument("--all-projects", action="store_true",
                            help="Every project (admin)")
        parser.add_argument("--region", metavar="<region>", help="Only this region")
        return parser


class ListAddress(_Scope, common.Lister):
    """Search the address index: who holds an address, in which region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--ip", metavar="<address>", help="This IPv4/IPv6 address")
        parser.add_argument("--cidr", metavar="<cidr>", help="Addresses in this CIDR")
        parser.add_argument("--mac", metavar="<mac>", help="This MAC address")
        parser.add_argument("--kind", choices=KINDS, help="Only this kind of entry")
        return parser

    def take_action(self, parsed_args):
        entries, _body = common.client(self.app).addresses.list(
            ip=parsed_args.ip, cidr=parsed_args.cidr, mac=parsed_args.mac,
            region=parsed_args.region, kind=parsed_args.kind, project_id=parsed_args.project,
            all_projects=parsed_args.all_projects)
        return ENTRY_COLUMNS, entry_rows(entries)


class ShowAddress(_Scope, common.Lister):
    """Show an index entry by id, or every entry holding an IP or MAC address."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("address", metavar="<id|ip|mac>",
                            help="An entry id, an IP address or a MAC address")
        return parser

    def take_action(self, parsed_args):
        manager = common.client(self.app).addresses
        value = parsed_args.address
        if value.isdigit():
            return ENTRY_COLUMNS, entry_rows([manager.get(value)])
        try:
            addressing.canonical_mac(value)
            key = "mac"
        except ValueError:
            key = "ip"
        entries, _body = manager.list(**{key: value}, region=parsed_args.region,
                                      project_id=parsed_args.project,
                                      all_projects=parsed_args.all_projects)
        if not entries:
            raise common.CommandError(f"No address {value} in the index")
        return ENTRY_COLUMNS, entry_rows(entries)


class ConflictsAddress(_Scope, common.Lister):
    """List address conflicts across regions; --watch prints them as they come and go."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--kind", choices=CONFLICT_KINDS, help="Only this kind")
        parser.add_argument("--include-cleared", action="store_true",
                            help="Also list conflicts that were cleared")
        parser.add_argument("--watch", action="store_true",
                            help="Poll and print a line per raised or cleared conflict")
        parser.add_argument("--interval", type=common.positive_float, default=10.0,
                            metavar="<seconds>", help="--watch: seconds between polls")
        parser.add_argument("--count", type=int, default=0, metavar="<n>",
                            help="--watch: stop after n polls (default: until interrupted)")
        return parser

    def _fetch(self, parsed_args, include_cleared):
        return common.client(self.app).addresses.conflicts(
            kind=parsed_args.kind, region=parsed_args.region, project_id=parsed_args.project,
            all_projects=parsed_args.all_projects, include_cleared=include_cleared)

    def take_action(self, parsed_args):
        if parsed_args.watch:
            self.watch(parsed_args)
            return CONFLICT_COLUMNS, []
        found = self._fetch(parsed_args, parsed_args.include_cleared)
        return CONFLICT_COLUMNS, [conflict_row(c) for c in found]

    def watch(self, parsed_args):
        known, polls = {}, 0
        out = self.app.stdout
        while True:
            current = {c["id"]: c for c in self._fetch(parsed_args, False)}
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for cid, c in current.items():
                if cid not in known:
                    out.write(f"{stamp} open    {' '.join(map(str, conflict_row(c)[:5]))}\n")
            for cid, c in known.items():
                if cid not in current:
                    out.write(f"{stamp} cleared {' '.join(map(str, conflict_row(c)[:5]))}\n")
            out.flush()
            known, polls = current, polls + 1
            if parsed_args.count and polls >= parsed_args.count:
                return
            time.sleep(parsed_args.interval)


class CheckAddress(common.ShowOne):
    """Would a planned subnet overlap an address in use in its routable domain?"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("cidr", metavar="<cidr>", help="The planned subnet, e.g. 10.0.1.0/24")
        parser.add_argument("--project", metavar="<project-id>",
                            help="The subnet's project (default: the project of your token)")
        parser.add_argument("--region", metavar="<region>",
                            help="The region it will be created in (its own overlaps are "
                                 "Neutron's business)")
        parser.add_argument("--fail-on-conflict", action="store_true",
                            help="Exit with status 2 when it would overlap")
        return parser

    def take_action(self, parsed_args):
        result = common.client(self.app).addresses.check(
            parsed_args.cidr, project_id=parsed_args.project, region=parsed_args.region)
        self.conflict = result["conflict"]
        overlaps = "; ".join(f"{o['region']}:{o['project_id'][:8]}:{o['address']}"
                             for o in result["overlaps"])
        return (("CIDR", "Project", "Domain", "Conflict", "Overlaps"),
                (result["cidr"], result["project_id"], result["domain"], result["conflict"],
                 overlaps))

    def run(self, parsed_args):
        self.conflict = False
        status = super().run(parsed_args)
        return 2 if status == 0 and self.conflict and parsed_args.fail_on_conflict else status
