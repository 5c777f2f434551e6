"""Python client library for the Multisite (Kingbird-compatible) API."""

from multisite.client.client import Client  # noqa: F401
from multisite.client.exceptions import (  # noqa: F401
    BadRequest,
    ClientException,
    Conflict,
    Forbidden,
    NotFound,
    ServerError,
    Unauthorized,
)
