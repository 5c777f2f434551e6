"""Project id spelling: 32 lowercase hex digits, as Keystone writes them (one place)."""

import re

from multisite import exception

_HEX32 = re.compile(r"^[0-9a-f]{32}$")
_DASHED = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class InvalidProjectId(exception.Invalid):
    code = "request.invalid_project_id"
    message = "Invalid project id %(value)r: expected 32 hex digits"


def normalize(value):
    """32 lowercase hex digits; a dashed UUID and upper case are folded; else
    InvalidProjectId."""
    candidate = value.lower() if isinstance(value, str) else ""
    if _DASHED.match(candidate):
        candidate = candidate.replace("-", "")
    if not _HEX32.match(candidate):
        raise InvalidProjectId(value=value)
    return candidate


def fold(value):
    """normalize(value) when it is a UUID, else the value as given (noauth may carry any
    string; a notification may name no project)."""
    try:
        return normalize(value)
    except InvalidProjectId:
        return value
