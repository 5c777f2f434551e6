"""multisite image distribution set|show|list|unset, image ensure, and
image rollout start|list|show|promote|abort|rollback (docs/images.md)."""

from multisite.cli import common
from multisite.client import images as image_api

DIST_COLUMNS = ("IMAGE", "MODE", "SOURCE", "TARGETS", "PROPAGATE_DELETES")
COPY_COLUMNS = ("IMAGE", "REGION", "STATE", "TARGET_ID", "ORIGIN", "REASON")
ROLLOUT_COLUMNS = ("ID", "IMAGE", "STATE", "WAVE", "REASON")
REGION_COLUMNS = ("WAVE", "REGION", "STATE", "PREVIOUS", "IMAGE_ID")


def _dist_row(dist):
    targets = dist["targets"]
    return (dist["image_id"] or "(project default)", dist["mode"], dist["source"],
            targets if isinstance(targets, str) else ",".join(targets),
            dist["propagate_deletes"])


def _image_arg(parser):
    parser.add_argument("--image", metavar="<image-id>",
                        help="One image (an override); none: the project default")


class SetDistribution(common.Lister):
    """Set how images are distributed: none, auto, lazy or controlled."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("mode", choices=image_api.MODES)
        parser.add_argument("--source", required=True, metavar="<region>")
        parser.add_argument("--target", dest="targets", action="append", metavar="<region>",
                            help="Target region (repeat); none: every other region")
        parser.add_argument("--propagate-deletes", action="store_true",
                            help="auto: delete the copies of images deleted in the source")
        _image_arg(parser)
        return parser

    def take_action(self, parsed_args):
        dist = common.client(self.app).images.set_distribution(
            mode=parsed_args.mode, source=parsed_args.source, image_id=parsed_args.image,
            targets=parsed_args.targets or "all",
            propagate_deletes=parsed_args.propagate_deletes)
        return DIST_COLUMNS, [_dist_row(dist)]


class ShowDistribution(common.Lister):
    """Show the mode of the project (default) or of one image."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _image_arg(parser)
        return parser

    def take_action(self, parsed_args):
        dist = common.client(self.app).images.get_distribution(parsed_args.image)
        return DIST_COLUMNS, [_dist_row(dist)]


class ListDistribution(common.Lister):
    """List the distribution modes of your project (every project with --all-projects)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--all-projects", action="store_true")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<marker>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).images.list_distributions(
            all_projects=parsed_args.all_projects, limit=parsed_args.limit,
            marker=parsed_args.marker)
        return DIST_COLUMNS, [_dist_row(d) for d in found]


class UnsetDistribution(common.Command):
    """Remove a mode (an image then follows the project default)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _image_arg(parser)
        return parser

    def take_action(self, parsed_args):
        common.client(self.app).images.delete_distribution(parsed_args.image)


class EnsureImage(common.Lister):
    """Make sure an image is in a region (lazy sync): starts its copy if missing."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image-id>")
        parser.add_argument("--region", required=True, metavar="<region>")
        parser.add_argument("--source", metavar="<region>",
                            help="Source region (default: the distribution mode's)")
        parser.add_argument("--wait", action="store_true", help="Wait until it is active")
        parser.add_argument("--timeout", type=float, metavar="<seconds>")
        return parser

    def take_action(self, parsed_args):
        copy = common.client(self.app).images.ensure(
            parsed_args.image, parsed_args.region, source=parsed_args.source,
            wait=parsed_args.wait, timeout=parsed_args.timeout)
        if parsed_args.wait and copy["state"] == "failed":
            raise common.CommandError(f"copy failed: {copy.get('reason')}")
        return COPY_COLUMNS, [(copy["image_id"], copy["region"], copy["state"],
                               copy.get("target_id"), copy.get("origin"), copy.get("reason"))]


def _rollout_rows(rollout):
    return ROLLOUT_COLUMNS, [(rollout["id"], rollout["image_id"], rollout["state"],
                              rollout["wave"] + 1, rollout.get("paused_reason")
                              or rollout.get("reason"))]


def _waves(values):
    """--wave R2 --wave R3,R4 -> [["R2"], ["R3", "R4"]]."""
    return [[r.strip() for r in v.split(",") if r.strip()] for v in values]


def _boot_checks(values):
    """--boot-check R2=devcloud.tiny[,NET_ID] -> {"R2": {"flavor": ..., "network": ...}}."""
    checks = {}
    for value in values or ():
        region, _, rest = value.partition("=")
        flavor, _, network = rest.partition(",")
        if not region.strip() or not flavor.strip():
            raise common.CommandError(f"--boot-check {value}: expected "
                                      "<region>=<flavor>[,<network-id>]")
        checks[region.strip()] = {"flavor": flavor.strip()}
        if network.strip():
            checks[region.strip()]["network"] = network.strip()
    return checks or None


class StartRollout(common.Lister):
    """Roll an image out in waves of regions (the first wave is the canary)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="<image-id>")
        parser.add_argument("--source", required=True, metavar="<region>")
        parser.add_argument("--wave", dest="waves", action="append", required=True,
                            metavar="<region>[,<region>...]",
                            help="One wave of regions (repeat, in order)")
        parser.add_argument("--pause", type=float, metavar="<seconds>",
                            help="Pause between two waves")
        parser.add_argument("--manual-promote", action="store_true",
                            help="Wait for `image rollout promote` after each wave")
        parser.add_argument("--boot-check", dest="boot_checks", action="append",
                            metavar="<region>=<flavor>[,<network-id>]",
                            help="Boot a server from the copy in that region before its "
                                 "switch (repeat per region)")
        return parser

    def take_action(self, parsed_args):
        rollout = common.client(self.app).images.start_rollout(
            image_id=parsed_args.image, source=parsed_args.source,
            waves=_waves(parsed_args.waves), pause=parsed_args.pause,
            manual_promote=parsed_args.manual_promote,
            boot_check=_boot_checks(parsed_args.boot_checks))
        return _rollout_rows(rollout)


class ListRollout(common.Lister):
    """List the image rollouts of your project."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--all-projects", action="store_true")
        parser.add_argument("--limit", type=int, metavar="<n>")
        parser.add_argument("--marker", metavar="<rollout-id>")
        return parser

    def take_action(self, parsed_args):
        found = common.client(self.app).images.list_rollouts(
            all_projects=parsed_args.all_projects, limit=parsed_args.limit,
            marker=parsed_args.marker)
        return ROLLOUT_COLUMNS, [_rollout_rows(r)[1][0] for r in found]


class ShowRollout(common.Lister):
    """Show a rollout: each wave's regions and their state."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("rollout", metavar="<rollout-id>")
        return parser

    def take_action(self, parsed_args):
        rollout = common.client(self.app).images.get_rollout(parsed_args.rollout)
        rows = [(i + 1, r["region"], r["state"], ",".join(r.get("previous") or []),
                 r.get("image_id")) for i, wave in enumerate(rollout["waves"])
                for r in wave["regions"]]
        self.app.stdout.write(f"rollout {rollout['id']}: {rollout['state']}"
                              f" ({rollout.get('paused_reason') or rollout.get('reason') or '-'})"
                              "\n")
        return REGION_COLUMNS, rows


class _Act(common.Lister):
    action = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("rollout", metavar="<rollout-id>")
        parser.add_argument("--reason", metavar="<text>", help="Recorded with the rollout")
        return parser

    def take_action(self, parsed_args):
        rollout = common.client(self.app).images.act(parsed_args.rollout, self.action,
                                                     parsed_args.reason)
        return _rollout_rows(rollout)


class PromoteRollout(_Act):
    """Start the next wave of a rollout waiting for promotion."""

    action = "promote"


class AbortRollout(_Act):
    """Stop a rollout and roll back the regions it switched."""

    action = "abort"


class RollbackRollout(_Act):
    """Give every region of a rollout (even a finished one) its previous image back."""

    action = "rollback"
