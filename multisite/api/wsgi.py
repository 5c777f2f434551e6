"""Small helpers for handlers: JSON bodies in, JSON responses out."""

import json

import webob

from multisite.api import errors


def json_response(value, status=200):
    body = json.dumps(value).encode()
    return webob.Response(body=body, status=status, charset="UTF-8",
                          content_type="application/json")


def json_body(req, *, required=True):
    """The request body parsed as JSON (never eval); None if empty and not required."""
    raw = req.body
    if not raw or not raw.strip():
        if required:
            raise errors.bad_request("request.body_required", "Body required")
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request("request.malformed_json",
                                 f"Malformed JSON in request body: {exc}") from None
