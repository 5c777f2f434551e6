"""Errors of region calls, classified for the engine (retry later or not)."""


class RegionError(Exception):
    """A call to a region failed; `temporary` says whether retrying may help."""

    temporary = True

    def __init__(self, region, message, *, status=None):
        super().__init__(f"{region}: {message}")
        self.region = region
        self.status = status


class RegionUnavailable(RegionError):
    """Down, timed out, or answered 5xx/429: retry with backoff."""


class RegionRejected(RegionError):
    """The region refused the request (4xx): retrying the same request will not help."""

    temporary = False


class ServiceCredentialsError(Exception):
    """The [cache] service credentials do not authenticate against Keystone."""
