"""`multisite`: the command line client, an osc-lib shell with the Multisite commands."""

import functools
import sys

from cliff import commandmanager
from osc_lib import clientmanager
from osc_lib import shell as osc_shell
from osc_lib.api import auth as osc_auth

import multisite
from multisite.cli import commands, plugin


class ClientManager(clientmanager.ClientManager):
    """osc-lib's manager plus a lazily built `multisite` client (one per manager)."""

    @functools.cached_property
    def multisite(self):
        return plugin.make_client(self)


class MultisiteShell(osc_shell.OpenStackShell):
    def __init__(self, **kwargs):
        manager = commandmanager.CommandManager("multisite.cli")
        for name, cls in commands.COMMANDS.items():
            manager.add_command(name, cls)
        super().__init__(description=__doc__.strip(),
                         version=getattr(multisite, "__version__", "0.1.0"),
                         command_manager=manager, deferred_help=True, **kwargs)

    def build_option_parser(self, description, version, argparse_kwargs=None):
        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser = osc_auth.build_auth_plugins_option_parser(parser)
        return plugin.build_option_parser(parser)

    def initialize_app(self, argv):
        super().initialize_app(argv)
        self.client_manager = ClientManager(cli_options=self.cloud,
                                            api_version=self.api_version,
                                            pw_func=osc_shell.prompt_for_password)


def main(argv=None):
    return MultisiteShell().run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
