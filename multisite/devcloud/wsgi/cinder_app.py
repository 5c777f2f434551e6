"""cinder-api; cinder parses sys.argv itself, so the config file (CINDER_CONF) goes there."""

import os
import sys

sys.argv = [sys.argv[0], "--config-file", os.environ["CINDER_CONF"]]

from cinder.wsgi.api import application  # noqa: E402

__all__ = ["application"]
