"""Multisite: a centralized control plane for multi-region OpenStack clouds."""

import warnings

# oslo.service (pulled in by oslo.messaging) imports eventlet, which warns on
# import; Multisite uses threads, never eventlet.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
