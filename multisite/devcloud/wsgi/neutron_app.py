"""neutron-server API; the config comes from OS_NEUTRON_CONFIG_DIR + OS_NEUTRON_CONFIG_FILES."""

import sys

sys.argv = sys.argv[:1]

from neutron.wsgi.api import application  # noqa: E402

__all__ = ["application"]
