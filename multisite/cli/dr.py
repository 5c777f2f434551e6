"""multisite dr plan create|list|show|delete|discover, dr checkpoint create|list|show,
dr restore (drill, failover) and dr restore list|show (/v2/protection-plans,
/v2/checkpoints, /v2/restores; docs/dr.md)."""

import time

from multisite.cli import common, progress
from multisite.client import dr as dr_api

PLAN_COLUMNS = ("ID", "NAME", "SOURCE", "BACKUP", "METHOD", "GROUPS", "STATUS", "PROBLEMS")
CHECKPOINT_COLUMNS = ("ID", "PLAN", "STATUS", "PHASE", "WINDOW_S", "SLOWEST_SNAPSHOT_S",
                      "CREATED_AT", "ERROR")
RESOURCE_COLUMNS = ("RESOURCE", "NAME", "STATUS", "DETAIL")


def _groups(plan):
    return " | ".join(",".join(g) for g in plan["groups"])


def _plan_row(plan):
    return (plan["id"], plan["name"], plan["source_region"], plan["backup_region"],
            plan["method"], _groups(plan), plan["status"], len(plan.get("problems") or []))


def _checkpoint_row(cp):
    window = cp.get("window") or {}
    return (cp["id"], cp["plan_id"], cp["status"], cp["phase"], window.get("seconds"),
            window.get("slowest_snapshot_seconds"), cp.get("created_at"), cp.get("error"))


def resource_rows(cp):
    """One line per server and per volume of a checkpoint (pure)."""
    rows = []
    for server in (cp.get("resources") or {}).get("servers", []):
        detail = " ".join(f"{k}={server[k]}" for k in ("paused_at", "unpaused_at", "error")
                          if server.get(k))
        rows.append(("server", server["name"], server.get("pause") or "-", detail))
    for volume in (cp.get("resources") or {}).get("volumes", []):
        detail = " ".join(f"{k}={volume[k]}" for k in (
            "snapshot_seconds", "backup_id", "incremental", "imported_backup_id", "error")
            if volume.get(k) not in (None, ""))
        rows.append(("volume", f"{volume.get('server')}:{volume.get('device')}",
                     volume.get("status"), detail))
    return rows


def parse_group(text):
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise common.CommandError(f"empty --group {text!r}")
    return names


class CreatePlan(common.Lister):
    """Protect a VNF: ordered server groups in a source region, copied to a backup region."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<name>")
        parser.add_argument("--source", required=True, metavar="<region>",
                            help="Region the VNF runs in")
        parser.add_argument("--backup", required=True, metavar="<region>",
                            help="Region that receives the backups and is restored into")
        parser.add_argument("--group", dest="groups", action="append", required=True,
                            metavar="<server>[,<server>...]",
                            help="Servers (names or ids) paused together; repeat, in pause "
                                 "order (e.g. --group db-1,db-2 --group app-1)")
        parser.add_argument("--method", choices=dr_api.METHODS, default=None,
                            help="Consistency method (default pause)")
        parser.add_argument("--retention", type=int, metavar="<n>",
                            help="Completed checkpoints kept (default 3)")
        parser.add_argument("--schedule", type=int, metavar="<seconds>",
                            help="Take a checkpoint every <seconds> (at least 60; for "
                                 "--method replicate: the replication period, required)")
        parser.add_argument("--wait", action="store_true",
                            help="Wait for the discovery and show its problems")
        return parser

    def take_action(self, parsed_args):
        api = common.client(self.app).dr
        plan = api.create_plan(
            name=parsed_args.name, source_region=parsed_args.source,
            backup_region=parsed_args.backup,
            groups=[parse_group(g) for g in parsed_args.groups], method=parsed_args.method,
            retention=parsed_args.retention, schedule_interval=parsed_args.schedule)
        if parsed_args.wait:
            while plan["status"] == "discovering":
                time.sleep(1)
                plan = api.get_plan(plan["id"])
            for item in plan.get("problems") or []:
                self.app.stderr.write(f"cannot protect {item['resource']}: {item['reason']}\n")
        return PLAN_COLUMNS, [_plan_row(plan)]


class ListPlans(common.Lister):
    """List the protection plans of your project (all projects with --all-projects, admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--all-projects", action="store_true")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<plan-id>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).dr.list_plans(
            all_projects=parsed_args.all_projects, limit=parsed_args.limit,
            marker=parsed_args.marker)
        return PLAN_COLUMNS, [_plan_row(p) for p in found]


class _OnePlan(common.Lister):
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("plan_id", metavar="<plan-id>")
        return parser


def plan_table(plan):
    """What the plan protects, one line per resource, then every problem."""
    rows = []
    found = plan.get("resources") or {}
    for server in found.get("servers", []):
        ips = ",".join(ip["ip_address"] for port in server.get("ports", [])
                       for ip in port.get("fixed_ips", []))
        rows.append(("server", server["name"], f"group {server['group']}",
                     f"volumes={len(server.get('volumes', []))} ips={ips}"))
    points = {p["volume_id"]: p for p in plan.get("recovery_points") or []}
    for volume in found.get("volumes", []):
        point = points.get(volume["id"])
        copy = ""
        if point is not None:
            # the newest restorable copy and its age (the recovery point of replicate)
            copy = (f" recovery_point={point['recovery_point']} age={point['age_seconds']}s"
                    if point["checkpoint_id"] else " recovery_point=none")
        rows.append(("volume", volume["id"], volume["status"],
                     f"bootable={volume['bootable']} size={volume['size']}{copy}"))
    for kind in ("keypairs", "networks", "security_groups"):
        for item in found.get(kind, []):
            rows.append((kind[:-1], item["name"], "-", ""))
    for item in plan.get("problems") or []:
        rows.append(("problem", item["resource"], "unprotectable", item["reason"]))
    if not rows:
        rows.append(("plan", plan["name"], plan["status"], ""))
    return RESOURCE_COLUMNS, rows


class ShowPlan(_OnePlan):
    """Show what a plan protects and what it cannot protect (and why)."""

    def take_action(self, parsed_args):
        return plan_table(common.client(self.app).dr.get_plan(parsed_args.plan_id))


class DiscoverPlan(_OnePlan):
    """Discover a plan's servers again (after adding volumes or servers)."""

    def take_action(self, parsed_args):
        return PLAN_COLUMNS, [_plan_row(common.client(self.app).dr.discover_plan(
            parsed_args.plan_id))]


class DeletePlan(common.Command):
    """Delete a protection plan (the backups in the regions stay)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("plan_id", metavar="<plan-id>")
        return parser

    def take_action(self, parsed_args):
        common.client(self.app).dr.delete_plan(parsed_args.plan_id)
        self.app.stdout.write(f"Protection plan {parsed_args.plan_id} deleted.\n")


class CreateCheckpoint(common.Lister):
    """Take a checkpoint of a plan (pauses its servers in group order for the snapshots)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("plan_id", metavar="<plan-id>")
        parser.add_argument("--wait", action="store_true",
                            help="Follow it to the end, printing each resource's progress")
        parser.add_argument("--timeout", type=float, default=3600.0, metavar="<seconds>")
        return parser

    def take_action(self, parsed_args):
        api = common.client(self.app).dr
        cp = api.create_checkpoint(parsed_args.plan_id)
        if not parsed_args.wait:
            return CHECKPOINT_COLUMNS, [_checkpoint_row(cp)]
        cp = follow(api, cp["id"], out=self.app.stderr, timeout=parsed_args.timeout)
        if cp["status"] != "completed":
            raise common.CommandError(f"Checkpoint {cp['id']} failed: {cp.get('error')}")
        return RESOURCE_COLUMNS, resource_rows(cp)


def follow(api, checkpoint_id, *, out, timeout, interval=1.0, clock=time.monotonic,
           sleep=time.sleep):
    """Poll a checkpoint until it ends; a line to `out` whenever a resource changes."""
    try:
        return progress.follow_resources(lambda: api.get_checkpoint(checkpoint_id),
                                         resource_rows, out=out, timeout=timeout,
                                         what=f"Checkpoint {checkpoint_id}", interval=interval,
                                         clock=clock, sleep=sleep)
    except TimeoutError as exc:
        raise common.CommandError(str(exc)) from None


class _FilteredList(common.Lister):
    """A /v2 collection filtered by one parent (`FILTER`: option, dest, metavar), paged."""

    FILTER = ("--plan", "plan_id", "<plan-id>")
    MARKER = "<checkpoint-id>"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        option, dest, metavar = self.FILTER
        parser.add_argument(option, dest=dest, metavar=metavar)
        parser.add_argument("--all-projects", action="store_true")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar=self.MARKER)
        return parser

    def listing(self, parsed_args, method):
        return method(**{self.FILTER[1]: getattr(parsed_args, self.FILTER[1])},
                      all_projects=parsed_args.all_projects, limit=parsed_args.limit,
                      marker=parsed_args.marker)


class ListCheckpoints(_FilteredList):
    """List checkpoints (of one plan with --plan)."""

    def take_action(self, parsed_args):
        found = self.listing(parsed_args, common.client(self.app).dr.list_checkpoints)
        return CHECKPOINT_COLUMNS, [_checkpoint_row(c) for c in found]


class ShowCheckpoint(common.Lister):
    """Show a checkpoint: each server's pause and each volume's snapshot/backup/export."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("checkpoint_id", metavar="<checkpoint-id>")
        return parser

    def take_action(self, parsed_args):
        cp = common.client(self.app).dr.get_checkpoint(parsed_args.checkpoint_id)
        window = cp.get("window") or {}
        rows = [("checkpoint", cp["id"], cp["status"],
                 f"phase={cp['phase']} window_s={window.get('seconds')} "
                 f"slowest_snapshot_s={window.get('slowest_snapshot_seconds')}"
                 + (f" error={cp['error']}" if cp.get("error") else ""))]
        return RESOURCE_COLUMNS, rows + resource_rows(cp)


RESTORE_COLUMNS = ("ID", "CHECKPOINT", "REGION", "MODE", "STATUS", "PHASE", "RTO_S",
                   "CREATED_AT", "ERROR")


def _restore_row(restore):
    return (restore["id"], restore["checkpoint_id"], restore["region"], restore["mode"],
            restore["status"], restore["phase"], restore.get("rto_seconds"),
            restore.get("created_at"), restore.get("error"))


def restore_rows(restore):
    """One line per restored resource (pure): volumes, keypairs, flavors, networks, subnets,
    ports (with the addresses they got), servers."""
    found = restore.get("resources") or {}
    rows = []
    for volume in found.get("volumes", []):
        detail = " ".join(f"{k}={volume[k]}" for k in ("volume_id", "backup_id", "attach",
                                                        "reimported", "adopted")
                          if volume.get(k) not in (None, ""))
        rows.append(("volume", f"{volume.get('server')}:{volume.get('device')}",
                     volume.get("status"), detail))
    for kind in ("keypairs", "flavors"):
        for item in found.get(kind, []):
            rows.append((kind[:-1], item["name"], item["status"], item.get("error") or ""))
    for net in found.get("networks", []):
        rows.append(("network", net["name"], net["status"], net.get("id") or ""))
        for sub in net.get("subnets", []):
            rows.append(("subnet", sub["name"], sub["status"], sub.get("id") or ""))
    for server in found.get("servers", []):
        for port in server.get("ports", []):
            detail = (f"mac={port.get('restored_mac')} ips={','.join(port.get('restored_ips', []))}"
                      if port.get("id") else "")
            if port.get("id") and not port.get("same_address"):
                detail += f" (was {port['mac_address']} " + ",".join(
                    i["ip_address"] for i in port["fixed_ips"]) + ")"
            rows.append(("port", port["name"], port["status"], detail))
        rows.append(("server", server["name"], server["status"],
                     f"group {server['group']}" + (f" id={server['id']}"
                                                   if server.get("id") else "")))
    return rows


class Restore(common.Lister):
    """Restore a checkpoint in its backup region: --drill (separate networks, prefixed
    names, the source untouched; into another project with --project) or --failover (needs
    --confirm with the token a first call without it prints)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("checkpoint_id", metavar="<checkpoint-id>")
        parser.add_argument("--region", required=True, metavar="<region>",
                            help="The plan's backup region")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--drill", dest="mode", action="store_const", const="drill")
        mode.add_argument("--failover", dest="mode", action="store_const", const="failover")
        parser.add_argument("--confirm", metavar="<token>",
                            help="The failover's confirmation token")
        parser.add_argument("--project", metavar="<project-id>",
                            help="A drill's target project, when not the plan's (admin; "
                                 "default: [dr] drill_project, else the plan's project)")
        parser.add_argument("--wait", action="store_true",
                            help="Follow it to the end, printing each resource's progress")
        parser.add_argument("--timeout", type=float, default=3600.0, metavar="<seconds>")
        return parser

    def take_action(self, parsed_args):
        if parsed_args.project and parsed_args.mode != "drill":
            raise common.CommandError("--project is for a --drill: a failover restores into "
                                      "the plan's own project")
        api = common.client(self.app).dr
        try:
            restore = api.restore(parsed_args.checkpoint_id, region=parsed_args.region,
                                  mode=parsed_args.mode, confirm=parsed_args.confirm,
                                  target_project_id=parsed_args.project)
        except dr_api.ConfirmationRequired as exc:
            what = exc.restore
            raise common.CommandError(
                f"Failover not started ({exc.message}).\nIt would restore servers "
                f"{', '.join(what.get('servers', []))} ({what.get('volumes')} volumes, "
                f"networks {', '.join(what.get('networks', []))}) of checkpoint "
                f"{what.get('checkpoint_id')} (taken {what.get('checkpoint_created_at')}, "
                f"source {what.get('source_region')}) into {what.get('region')} with their "
                f"original names and addresses.\nTo proceed, before {exc.expires_at}: "
                f"multisite dr restore {parsed_args.checkpoint_id} --region "
                f"{parsed_args.region} --failover --confirm {exc.token}") from None
        if not parsed_args.wait:
            return RESTORE_COLUMNS, [_restore_row(restore)]
        try:
            restore = progress.follow_resources(
                lambda: api.get_restore(restore["id"]), restore_rows, out=self.app.stderr,
                timeout=parsed_args.timeout, what=f"Restore {restore['id']}")
        except TimeoutError as exc:
            raise common.CommandError(str(exc)) from None
        if restore["status"] != "completed":
            raise common.CommandError(f"Restore {restore['id']} failed: {restore.get('error')}")
        self.app.stderr.write(f"Restore {restore['id']} completed: RTO "
                              f"{restore['rto_seconds']} s\n")
        return RESOURCE_COLUMNS, restore_rows(restore)


class ListRestores(_FilteredList):
    """List restores (of one checkpoint with --checkpoint)."""

    FILTER = ("--checkpoint", "checkpoint_id", "<checkpoint-id>")
    MARKER = "<restore-id>"

    def take_action(self, parsed_args):
        found = self.listing(parsed_args, common.client(self.app).dr.list_restores)
        return RESTORE_COLUMNS, [_restore_row(r) for r in found]


class ShowRestore(common.Lister):
    """Show a restore: each resource it recreated, the addresses ports got, and the RTO."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("restore_id", metavar="<restore-id>")
        return parser

    def take_action(self, parsed_args):
        restore = common.client(self.app).dr.get_restore(parsed_args.restore_id)
        rows = [("restore", restore["id"], restore["status"],
                 f"mode={restore['mode']} region={restore['region']} "
                 f"project={restore.get('target_project_id')} phase={restore['phase']} "
                 f"rto_s={restore.get('rto_seconds')}"
                 + (f" error={restore['error']}" if restore.get("error") else ""))]
        return RESOURCE_COLUMNS, rows + restore_rows(restore)
