"""Keystone; the config comes from OS_KEYSTONE_CONFIG_FILES."""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]
