"""multisite event list [--follow]: the central event feed."""

import json
import sys
import time

from multisite.cli import common

COLUMNS = ("ID", "GENERATED_AT", "REGION", "PROJECT", "TYPE", "RESOURCE", "ORIGIN")
KEYS = ("id", "generated_at", "region", "project_id", "event_type", "resource_id", "origin")


def _row(event):
    return tuple(event.get(key) for key in KEYS)


class ListEvent(common.Lister):
    """List events of your project (any with --project/--all-projects as admin), newest
    first; --follow prints new events as they arrive (Ctrl-C stops)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--region", metavar="<region>", help="Only this region")
        parser.add_argument("--project", metavar="<project-id>",
                            help="Events of this project (admin, or your own)")
        parser.add_argument("--all-projects", action="store_true",
                            help="Events of every project (admin)")
        parser.add_argument("--type", dest="event_type", metavar="<event-type>",
                            help="Exact type, or a prefix ending in * (compute.instance.*)")
        parser.add_argument("--resource", metavar="<resource-id>", help="Only this resource")
        parser.add_argument("--since", metavar="<iso-time>", help="Generated at or after")
        parser.add_argument("--until", metavar="<iso-time>", help="Generated before")
        parser.add_argument("--limit", type=int, default=50, metavar="<n>",
                            help="At most n events (default 50)")
        parser.add_argument("--follow", action="store_true",
                            help="Then keep printing new events, one per line")
        parser.add_argument("--poll-interval", type=common.positive_float, default=2.0,
                            metavar="<seconds>", help="Seconds between polls (default 2)")
        return parser

    def _filters(self, args):
        return {"region": args.region, "project": args.project,
                "all_projects": args.all_projects, "event_type": args.event_type,
                "resource_id": args.resource, "since": args.since, "until": args.until}

    def take_action(self, parsed_args):
        manager = common.client(self.app).events
        found = manager.list(limit=parsed_args.limit, **self._filters(parsed_args))
        if not parsed_args.follow:
            return COLUMNS, [_row(e) for e in found]
        self._follow(manager, parsed_args, sorted(found, key=lambda e: e["id"]))
        return COLUMNS, []

    def _follow(self, manager, args, initial):
        as_json = getattr(args, "formatter", "table") == "json"
        last = initial[-1]["id"] if initial else 0
        out = sys.stdout

        def emit(events):
            for event in events:
                out.write((json.dumps(event) if as_json
                           else " ".join(str(v) for v in _row(event))) + "\n")
            out.flush()

        emit(initial)
        try:
            while True:
                time.sleep(args.poll_interval)
                new = manager.list(ascending=True, marker=str(last), limit=1000,
                                   **self._filters(args))
                if new:
                    emit(new)
                    last = new[-1]["id"]
        except KeyboardInterrupt:
            return
