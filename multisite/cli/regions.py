"""multisite region list|show, multisite capacity show."""

from multisite.cli import common

SERVICES = ("identity", "compute", "volume", "network", "image", "notifications")


def _state(service):
    if service is None:
        return "-"
    if service.get("reachable") is None:
        return "unknown"
    return "up" if service["reachable"] else "DOWN"


class ListRegion(common.Lister):
    """List every region with its status and each service's (up, DOWN, - if absent)."""

    def take_action(self, parsed_args):
        found = common.client(self.app).regions.list()
        columns = ("NAME", "STATUS") + tuple(s.upper() for s in SERVICES)
        rows = [(r["name"], r["status"]) + tuple(_state(r["services"].get(s))
                                                 for s in SERVICES) for r in found]
        return columns, rows


class ShowRegion(common.ShowOne):
    """Show one region: each service's probe (version, latency, failures, last error)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<region>", help="Region name")
        return parser

    def take_action(self, parsed_args):
        region = common.client(self.app).regions.get(parsed_args.name)
        fields = {"name": region["name"], "status": region["status"]}
        for name, service in sorted(region["services"].items()):
            text = f"{_state(service)} version={service.get('version')} " \
                   f"latency_ms={service.get('latency_ms')} " \
                   f"failures={service.get('consecutive_failures')} " \
                   f"probed_at={service.get('probed_at')}"
            if service.get("service_status"):
                counts = service["service_status"]
                text += " services=" + ",".join(f"{k}:{counts[k]}" for k in sorted(counts))
            if service.get("last_error"):
                text += f" error={service['last_error']}"
            fields[name] = text
        return tuple(fields), tuple(fields.values())


def _figures(figures):
    if not figures:
        return "-"
    return " ".join(f"{k}={v}" for k, v in figures.items() if not isinstance(v, list))


class ShowCapacity(common.Lister):
    """Show capacity and utilization per region and kind, then the totals (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--region", metavar="<region>", help="Only this region")
        return parser

    def take_action(self, parsed_args):
        view = common.client(self.app).regions.capacity(parsed_args.region)
        columns = ("REGION", "KIND", "FIGURES", "AGE_SECONDS", "ERROR")
        rows = []
        for region in view["regions"]:
            for kind in ("compute", "volume", "network", "image"):
                entry = region.get(kind)
                if entry is None:
                    continue
                rows.append((region["name"], kind, _figures(entry["figures"]),
                             entry["age_seconds"], entry["error"] or ""))
        for kind, total in sorted(view["total"].items()):
            rows.append(("(total)", kind, _figures(total), "", ""))
        return columns, rows
