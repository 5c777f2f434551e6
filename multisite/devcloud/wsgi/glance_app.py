"""glance-api; the config comes from OS_GLANCE_CONFIG_DIR."""

import sys

sys.argv = sys.argv[:1]

from glance.wsgi.api import application  # noqa: E402

__all__ = ["application"]
