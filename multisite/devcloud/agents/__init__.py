"""Scripts the devcloud runs inside its service venv (they import OpenStack, not Multisite)."""
