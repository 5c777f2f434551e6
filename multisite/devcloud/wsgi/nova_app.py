"""nova-api (compute API); the config comes from OS_NOVA_CONFIG_DIR."""

import sys

sys.argv = sys.argv[:1]

from nova.wsgi.osapi_compute import application  # noqa: E402

__all__ = ["application"]
