"""Helpers shared by the commands: client access, limit options, error messages."""

import argparse

from cliff import command, lister, show

from multisite.cli import plugin
from multisite.client import exceptions
from multisite.client import quotas as quota_api


def client(app):
    return app.client_manager.multisite


class CommandError(Exception):
    """A user-facing failure: cliff prints the message, exit code 1."""


def describe(exc):
    """A one-line message for a client error; never bytes, never a traceback."""
    if isinstance(exc, exceptions.HTTPError):
        text = f"{exc.message} (HTTP {exc.status}"
        text += f" {exc.code}" if exc.code else ""
        text += f", request {exc.request_id})" if exc.request_id else ")"
        return text
    return str(exc)


class _Errors:
    """Prints client and command errors as one `ERROR: <message>` line; exit code 1."""

    @property
    def auth_required(self):
        # noauth mode (explicit URL, no auth URL) must not ask Keystone for a token,
        # in `multisite` and in `openstack multisite` alike.
        manager = getattr(self.app, "client_manager", None)
        return manager is None or not plugin.noauth_mode(manager)

    def run(self, parsed_args):
        try:
            return super().run(parsed_args)
        except (exceptions.ClientException, CommandError) as exc:
            self.app.stderr.write(f"ERROR: {describe(exc)}\n")
            self.app.stderr.flush()
            return 1


class Command(_Errors, command.Command):
    pass


class Lister(_Errors, lister.Lister):
    pass


class ShowOne(_Errors, show.ShowOne):
    pass


def add_limit_options(parser):
    """One --<resource> option per quota key; Kingbird's --key_name spelling also works."""
    group = parser.add_argument_group("limits")
    for name in quota_api.QUOTA_RESOURCES:
        flags = [f"--{name.replace('_', '-')}"]
        if "_" in name:
            flags.append(f"--{name}")
        group.add_argument(*flags, dest=name, metavar="<n>", type=int,
                           help=f"New limit for {name} (-1: unlimited)")


def limits_from(parsed_args):
    limits = {name: getattr(parsed_args, name) for name in quota_api.QUOTA_RESOURCES
              if getattr(parsed_args, name, None) is not None}
    if not limits:
        raise CommandError("Give at least one limit, e.g. --cores 10")
    return limits


class ProjectOption:
    """Adds --project (Kingbird's --tenant also works): the target, default own project."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--project", "--tenant", dest="project", metavar="<project-id>",
                            help="Target project (default: the project of your token)")
        return parser


def sorted_quota_rows(values):
    """(resource, value) rows: known keys in Kingbird's order, then any others."""
    known = [key for key in quota_api.QUOTA_RESOURCES if key in values]
    extra = sorted(key for key in values if key not in quota_api.QUOTA_RESOURCES)
    return [(key, values[key]) for key in known + extra]


def positive_float(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value
