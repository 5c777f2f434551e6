"""multisite network topology show (/v2/routers/{id}/topology: the big region's L3)."""

from multisite.cli import common

COLUMNS = ("Pod", "Bottom router", "Bridge IP", "Interfaces", "Routes", "In sync", "Drift")


def _routes(routes):
    return ", ".join(f"{r['destination']} via {r['nexthop']}" for r in routes) or "-"


def _row(pod):
    if pod.get("error"):
        return (pod["pod"], "?", "?", "?", "?", False, f"unreadable: {pod['error']}")
    interfaces = ", ".join(i.get("cidr") or i["bottom_subnet_id"]
                           for i in pod["interfaces"]) or "-"
    drift = list(pod["drift"])
    if pod["routes"] != pod["expected_routes"]:
        drift.append(f"top wants routes {_routes(pod['expected_routes'])}")
    if pod["bridge_ip"] != pod["expected_bridge_ip"] and pod["wanted"]:
        drift.append(f"top wants bridge IP {pod['expected_bridge_ip']}")
    if not pod["wanted"]:
        drift.append("no interface of this pod at the top: to be removed")
    return (pod["pod"], pod["router_id"] or "-", pod["bridge_ip"] or "-", interfaces,
            _routes(pod["routes"]), pod["in_sync"], "; ".join(drift) or "-")


class ShowTopology(common.Lister):
    """Show a top router in every pod: bottom router, bridge port IP, interfaces, routes,
    and whether each pod matches what the top says (drift)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("router_id", metavar="<router>", help="A top router's id")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).routers.topology(parsed_args.router_id)
        state = "in sync" if found["in_sync"] else "DRIFT"
        self.app.stderr.write(f"Router {found['router_id']} (project {found['project_id']})"
                              f": {len(found['pods'])} pods, {state}"
                              f"{'' if found['exists_at_top'] else ', gone at the top'}\n")
        return COLUMNS, [_row(p) for p in found["pods"]]
