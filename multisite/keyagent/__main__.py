"""``python -m multisite.keyagent``: the same as the ``multisite-keyagent`` command."""

from multisite.keyagent.cmd import main

main()
