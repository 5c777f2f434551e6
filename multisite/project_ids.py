"""Project id spelling: 32 lowercase hex digits, as Keystone writes them (the one place)."""

import uuid

from multisite import exception


class InvalidProjectId(exception.Invalid):
    code = "request.invalid_project_id"
    message = "Invalid project id %(value)r: expected 32 hex digits"


def normalize(value):
    """32 lowercase hex digits. Every spelling of a UUID names the same project: plain,
    dashed, braced, `urn:uuid:`, upper case; anything else is InvalidProjectId.

    The one rule: /v2 parameters (api/v2.py), v1.0 URL variables (api/handlers/common)
    and token identities (`fold`) all go through here."""
    if isinstance(value, str) and 32 <= len(value) <= 45:
        try:
            return uuid.UUID(value).hex
        except ValueError:
            pass
    raise InvalidProjectId(value=value)


def fold(value):
    """normalize(value) when it is a UUID, else the value as given (noauth may carry any
    string; a notification may name no project)."""
    try:
        return normalize(value)
    except InvalidProjectId:
        return value
