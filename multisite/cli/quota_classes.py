"""multisite quota-class show|update|delete."""

from multisite.cli import common


def _rows(values):
    values = dict(values)
    name = values.pop("class_name", None)
    rows = common.sorted_quota_rows(values)
    return ([("class_name", name)] if name is not None else []) + rows


class _ClassCommand:
    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("quota_class", metavar="<quota-class>",
                            help="Quota class name (the 'default' class sets the defaults)")
        return parser


class ShowQuotaClass(_ClassCommand, common.Lister):
    """Show the limits of a quota class."""

    def take_action(self, parsed_args):
        return ("Quota", "Limit"), _rows(
            common.client(self.app).quota_classes.get(parsed_args.quota_class))


class UpdateQuotaClass(_ClassCommand, common.Lister):
    """Set limits of a quota class (admin)."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        common.add_limit_options(parser)
        return parser

    def take_action(self, parsed_args):
        limits = common.limits_from(parsed_args)
        return ("Quota", "Limit"), _rows(
            common.client(self.app).quota_classes.update(parsed_args.quota_class, **limits))


class DeleteQuotaClass(_ClassCommand, common.Command):
    """Delete a quota class (admin)."""

    def take_action(self, parsed_args):
        common.client(self.app).quota_classes.delete(parsed_args.quota_class)
        self.app.stdout.write(f"Deleted quota class {parsed_args.quota_class}.\n")
