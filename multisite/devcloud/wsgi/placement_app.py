"""Placement; the config comes from OS_PLACEMENT_CONFIG_DIR."""

import sys

sys.argv = sys.argv[:1]

from placement.wsgi.api import application  # noqa: E402

__all__ = ["application"]
