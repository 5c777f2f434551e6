"""multisite sync create|template|list|show|delete."""

import sys

from multisite.cli import common, progress
from multisite.client import sync_jobs as sync_api

JOB_COLUMNS = ("ID", "STATUS", "CREATED_AT")
ROW_COLUMNS = ("ID", "RESOURCE", "SOURCE_REGION", "TARGET_REGION", "RESOURCE_TYPE", "STATUS",
               "CREATED_AT", "UPDATED_AT")
ROW_KEYS = ("id", "resource", "source_region", "target_region", "resource_type",
            "sync_status", "created_at", "updated_at")
# Any reason the server gives for a failed row is shown beside the status.
REASON_KEYS = ("reason", "error", "message")


def _reason(row):
    for key in REASON_KEYS:
        if row.get(key):
            return row[key]
    return None


def row_table(rows):
    with_reason = any(_reason(row) for row in rows)
    columns = ROW_COLUMNS + (("REASON",) if with_reason else ())
    data = []
    for row in rows:
        values = tuple(row.get(key) for key in ROW_KEYS)
        data.append(values + ((_reason(row),) if with_reason else ()))
    return columns, data


class _Waiting(common.Lister):
    """A job-creating command: prints the job, or with --wait follows it to the end."""

    failed = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--wait", action="store_true",
                            help="Show progress per target region until the job ends; "
                                 "exit 1 if any row failed")
        parser.add_argument("--poll-interval", type=common.positive_float, default=1.0,
                            metavar="<seconds>", help="Seconds between polls (default 1)")
        parser.add_argument("--timeout", type=common.positive_float, default=600.0,
                            metavar="<seconds>", help="Give up waiting after (default 600)")
        return parser

    def created(self, parsed_args, job):
        if not parsed_args.wait:
            return JOB_COLUMNS, [(job.get("id"), job.get("status"), job.get("created_at"))]
        manager = common.client(self.app).sync_jobs
        sys.stderr.write(f"Job {job['id']} created; waiting for it to finish\n")
        try:
            rows = progress.wait(manager, job["id"], out=sys.stderr,
                                 interval=parsed_args.poll_interval,
                                 timeout=parsed_args.timeout)
        except TimeoutError as exc:
            raise common.CommandError(str(exc)) from None
        failures = sum(1 for row in rows if row.get("sync_status") == "FAILURE")
        self.failed = failures > 0
        sys.stderr.write(f"Job {job['id']} finished: {len(rows) - failures} SUCCESS, "
                         f"{failures} FAILURE\n")
        return row_table(rows)

    def run(self, parsed_args):
        result = super().run(parsed_args)
        return 1 if self.failed else result


class CreateSync(_Waiting):
    """Copy keypairs, flavors or images from a source region to target regions."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--source", required=True, action="append", metavar="<region>",
                            help="Source region (repeat for several)")
        parser.add_argument("--target", required=True, action="append", metavar="<region>",
                            help="Target region (repeat for several)")
        parser.add_argument("--resource-type", "--resource_type", dest="resource_type",
                            required=True, choices=sync_api.RESOURCE_TYPES,
                            help="keypair, flavor (admin) or image")
        parser.add_argument("--resource", "--resources", dest="resources", required=True,
                            action="append", metavar="<name-or-id>",
                            help="Keypair name, flavor name or image id (repeat for several)")
        parser.add_argument("--force", action="store_true",
                            help="Replace resources that already exist in a target")
        return parser

    def take_action(self, parsed_args):
        source = parsed_args.source[0] if len(parsed_args.source) == 1 else parsed_args.source
        job = common.client(self.app).sync_jobs.create(
            resource_type=parsed_args.resource_type, resources=parsed_args.resources,
            source=source, target=parsed_args.target, force=parsed_args.force)
        return self.created(parsed_args, job)


class TemplateSync(_Waiting):
    """Start one job from a template file (.json/.yaml/.yml) with a 'Sync' list."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("template", metavar="<file>", help="Template file")
        return parser

    def take_action(self, parsed_args):
        try:
            entries = sync_api.load_template(parsed_args.template)
        except sync_api.TemplateError as exc:
            raise common.CommandError(str(exc)) from None
        job = common.client(self.app).sync_jobs.create_from_template(entries)
        return self.created(parsed_args, job)


class ListSync(common.Lister):
    """List sync jobs of your project (all projects with --all-projects, admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--active", action="store_true", help="Only jobs in progress")
        parser.add_argument("--all-projects", action="store_true",
                            help="Jobs of every project (admin)")
        parser.add_argument("--limit", type=int, metavar="<n>", help="At most n jobs")
        parser.add_argument("--marker", metavar="<job-id>",
                            help="Start after this job (paging)")
        return parser

    def take_action(self, parsed_args):
        jobs = common.client(self.app).sync_jobs.list(
            active=parsed_args.active, all_projects=parsed_args.all_projects,
            limit=parsed_args.limit, marker=parsed_args.marker)
        columns = ["ID", "STATUS", "CREATED_AT", "UPDATED_AT"]
        keys = ["id", "sync_status", "created_at", "updated_at"]
        if parsed_args.all_projects:
            columns.insert(1, "PROJECT")
            keys.insert(1, "project_id")
        return columns, [tuple(job.get(key) for key in keys) for job in jobs]


class ShowSync(common.Lister):
    """Show the rows of a sync job: one per resource, source and target."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job_id", metavar="<job-id>", help="Job id")
        return parser

    def take_action(self, parsed_args):
        return row_table(common.client(self.app).sync_jobs.get(parsed_args.job_id))


class DeleteSync(common.Command):
    """Delete finished sync jobs."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job_ids", nargs="+", metavar="<job-id>", help="Job id(s)")
        return parser

    def take_action(self, parsed_args):
        manager = common.client(self.app).sync_jobs
        for job_id in parsed_args.job_ids:
            manager.delete(job_id)
            self.app.stdout.write(f"Deleted sync job {job_id}.\n")
