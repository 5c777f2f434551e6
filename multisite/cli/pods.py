"""multisite pod|routing|job ... (/v1.0/pods, /v1.0/routings, /v1.0/jobs: the big region)."""

from multisite.cli import common

POD_COLUMNS = ("pod_id", "region_name", "az_name", "pod_az_name", "dc_name")
ROUTING_COLUMNS = ("id", "top_id", "bottom_id", "pod_id", "project_id", "resource_type",
                   "created_at", "updated_at")
JOB_COLUMNS = ("id", "project_id", "type", "status", "timestamp", "resource")


def _resource(job):
    return ",".join(f"{k}={v}" for k, v in job["resource"].items())


def _job_row(job):
    return tuple(_resource(job) if c == "resource" else job[c] for c in JOB_COLUMNS)


class _One(common.ShowOne):
    columns = ()
    arg = "id"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(self.arg, metavar=f"<{self.arg.replace('_', '-')}>")
        return parser

    def show(self, item):
        return self.columns, tuple(item[c] for c in self.columns)


class _Delete(common.Command):
    arg = "id"
    what = "Item"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(self.arg, metavar=f"<{self.arg.replace('_', '-')}>")
        return parser

    def take_action(self, parsed_args):
        value = getattr(parsed_args, self.arg)
        getattr(common.client(self.app), self.manager).delete(value)
        self.app.stdout.write(f"{self.what} {value} deleted.\n")


class CreatePod(common.ShowOne):
    """Register the top region (no --az) or a bottom pod of an availability zone."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("region_name", metavar="<region>",
                            help="A region of Keystone's catalog")
        parser.add_argument("--az", dest="az_name", metavar="<az>",
                            help="The availability zone users see (none: the top region)")
        parser.add_argument("--pod-az", dest="pod_az_name", metavar="<az>",
                            help="The pod's own availability zone")
        parser.add_argument("--dc", dest="dc_name", metavar="<dc>", help="Data center name")
        return parser

    def take_action(self, parsed_args):
        pod = common.client(self.app).pods.create(
            parsed_args.region_name, az_name=parsed_args.az_name,
            pod_az_name=parsed_args.pod_az_name, dc_name=parsed_args.dc_name)
        return POD_COLUMNS, tuple(pod[c] for c in POD_COLUMNS)


class ListPod(common.Lister):
    """List the pods (the top region first)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--az", dest="az_name", metavar="<az>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).pods.list(az_name=parsed_args.az_name)
        return POD_COLUMNS, [tuple(p[c] for c in POD_COLUMNS) for p in found]


class ShowPod(_One):
    """Show a pod."""

    columns, arg = POD_COLUMNS, "pod_id"

    def take_action(self, parsed_args):
        return self.show(common.client(self.app).pods.get(parsed_args.pod_id))


class DeletePod(_Delete):
    """Delete a pod (refused while resources are routed to it)."""

    arg, manager, what = "pod_id", "pods", "Pod"


class ListRouting(common.Lister):
    """List resource routings, newest first (filters: --top-id, --pod, --resource-type...)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        for name in ("top_id", "bottom_id", "pod_id", "project_id", "resource_type"):
            parser.add_argument("--" + name.replace("_", "-"), dest=name,
                                metavar=f"<{name.replace('_', '-')}>")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<routing-id>")
        return parser

    def take_action(self, parsed_args):
        filters = {k: getattr(parsed_args, k) for k in
                   ("top_id", "bottom_id", "pod_id", "project_id", "resource_type")}
        found = common.client(self.app).routings.list(
            limit=parsed_args.limit, marker=parsed_args.marker,
            **{k: v for k, v in filters.items() if v is not None})
        return ROUTING_COLUMNS, [tuple(r[c] for c in ROUTING_COLUMNS) for r in found]


class ShowRouting(_One):
    """Show a resource routing."""

    columns, arg = ROUTING_COLUMNS, "routing_id"

    def take_action(self, parsed_args):
        return self.show(common.client(self.app).routings.get(parsed_args.routing_id))


class DeleteRouting(_Delete):
    """Delete a resource routing (the pod's resource is left alone)."""

    arg, manager, what = "routing_id", "routings", "Routing"


class ListJob(common.Lister):
    """List asynchronous jobs, newest first."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--project", dest="project_id", metavar="<project-id>")
        parser.add_argument("--type", dest="job_type", metavar="<type>")
        parser.add_argument("--status", choices=("NEW", "RUNNING", "SUCCESS", "FAIL"),
                            type=str.upper)
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<job-id>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).jobs.list(
            project_id=parsed_args.project_id, job_type=parsed_args.job_type,
            status=parsed_args.status, limit=parsed_args.limit, marker=parsed_args.marker)
        return JOB_COLUMNS, [_job_row(j) for j in found]


class ShowJob(_One):
    """Show a job."""

    columns, arg = JOB_COLUMNS, "job_id"

    def take_action(self, parsed_args):
        return JOB_COLUMNS, _job_row(common.client(self.app).jobs.get(parsed_args.job_id))


class RedoJob(_One):
    """Run a NEW or FAILed job again (refused while it runs)."""

    columns, arg = JOB_COLUMNS, "job_id"

    def take_action(self, parsed_args):
        return JOB_COLUMNS, _job_row(common.client(self.app).jobs.redo(parsed_args.job_id))


class DeleteJob(_Delete):
    """Delete a job (refused while it runs)."""

    arg, manager, what = "job_id", "jobs", "Job"
