"""Small helpers for handlers: JSON bodies in, JSON responses out."""

import json
import re

import webob

from multisite.api import errors

# Deeper than any body of the API (os-sync templates are 4 levels); far below the
# recursion limit of the parser and of the schema validator.
MAX_DEPTH = 32
_READ_CHUNK = 64 * 1024
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
JSON_TYPES = ("application/json",)


def json_response(value, status=200):
    body = json.dumps(value).encode()
    return webob.Response(body=body, status=status, charset="UTF-8",
                          content_type="application/json")


def read_body(req, limit):
    """Read the whole body, at most `limit` bytes whatever the framing (chunked too).

    The body is stored back on the request, so handlers read it as usual; raises 413
    as soon as more than `limit` bytes have arrived.
    """
    too_large = errors.HTTPError(413, "request.too_large", "Request body too large")
    if req.content_length is not None and req.content_length > limit:
        raise too_large
    if not req.is_body_readable:
        return
    stream, parts, size = req.body_file, [], 0   # bounded by Content-Length when given
    while True:
        part = stream.read(min(_READ_CHUNK, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
        if size > limit:
            raise too_large
    req.body = b"".join(parts)


def _check_content_type(req):
    # python-kingbirdclient and our CLI send application/json; a body with no
    # Content-Type at all is taken as JSON (old scripts), anything else is refused.
    if not req.headers.get("Content-Type"):
        return
    if req.content_type not in JSON_TYPES or (req.charset or "utf-8").lower() not in (
            "utf-8", "utf8"):
        raise errors.HTTPError(415, "request.unsupported_media_type",
                               f"Unsupported Content-Type {req.headers['Content-Type']!r}: "
                               "send application/json (UTF-8)")


def _check_depth(raw):
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', raw)):
        depth += 1 if match.group() in (b"[", b"{") else -1
        if depth > MAX_DEPTH:
            raise errors.bad_request("request.too_deep",
                                     f"JSON nested deeper than {MAX_DEPTH} levels")


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise errors.bad_request("request.duplicate_key",
                                     f"Duplicate key in JSON object: {key!r}")
        seen[key] = value
    return seen


def json_body(req, *, required=True):
    """The request body parsed as JSON (never eval); None if empty and not required."""
    raw = req.body
    if not raw or not raw.strip():
        if required:
            raise errors.bad_request("request.body_required", "Body required")
        return None
    _check_content_type(req)
    _check_depth(raw)
    try:
        # UTF-8 only (RFC 8259); json.loads would also guess UTF-16 and UTF-32
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request("request.malformed_json",
                                 f"Malformed JSON in request body: {exc}") from None
