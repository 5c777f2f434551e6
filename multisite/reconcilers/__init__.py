"""Reconcilers: pure decisions (plan) and thin application of them, one module per kind."""


class TemporaryError(Exception):
    """Retry later: the work item is requeued after `delay` seconds."""

    def __init__(self, message="", *, delay=None):
        super().__init__(message)
        self.delay = delay


class PermanentError(Exception):
    """Do not retry until something changes (configuration, the request)."""
