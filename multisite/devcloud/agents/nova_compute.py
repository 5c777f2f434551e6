"""nova-compute with the devcloud's compute driver (run by the devcloud, in its venv).

Nova loads ``compute_driver`` as ``nova.virt.<value>``, so a driver outside Nova's package
needs a name there: this launcher makes ``nova.virt.multisite_snapshot_driver`` the file
``snapshot_driver.py`` beside it (an import finder consulted after the normal ones), then
runs Nova's own ``nova-compute`` entry point with the same arguments. Nothing is installed
into the venv.
"""

import importlib.abc
import importlib.util
import os
import sys

NAME = "nova.virt.multisite_snapshot_driver"
PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshot_driver.py")


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == NAME:
            return importlib.util.spec_from_file_location(fullname, PATH)
        return None


sys.meta_path.append(_Finder())

if __name__ == "__main__":
    from nova.cmd.compute import main

    sys.argv[0] = "nova-compute"
    sys.exit(main())
