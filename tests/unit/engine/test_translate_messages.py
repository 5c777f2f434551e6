"""clients/session.translate: a region's refusal reaches the operator with the service's
own message, whatever the error body's shape."""

import json

import pytest
import requests
from keystoneauth1 import exceptions as ks_exc

from multisite.clients import session


def _refusal(status, body, content_type="application/json"):
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = content_type
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.url = "http://127.0.0.1:8774/v2.1/servers"
    return ks_exc.from_response(response, "POST", response.url)


def _translated(exc):
    with pytest.raises(session.RegionError) as info:
        with session.translate("RegionTwo", "create server"):
            raise exc
    return str(info.value)


@pytest.mark.parametrize("body", [
    {"badRequest": {"message": "Invalid key_name provided.", "code": 400}},    # Nova
    {"itemNotFound": {"message": "Invalid key_name provided.", "code": 404}},
    {"NeutronError": {"type": "X", "message": "Invalid key_name provided.", "detail": ""}},
    {"error": {"message": "Invalid key_name provided.", "code": 400}},          # Keystone
])
def test_the_services_own_message_is_kept(body):
    status = 404 if "itemNotFound" in body else 400
    message = _translated(_refusal(status, body))
    assert "Invalid key_name provided." in message
    assert "Unrecognized schema" not in message
    assert f"HTTP {status}" in message and "create server" in message


def test_a_body_that_is_not_json_is_quoted():
    message = _translated(_refusal(409, b"<html>Conflict: volume in use</html>",
                                   content_type="text/html"))
    assert "Conflict: volume in use" in message


def test_an_empty_body_keeps_the_status():
    message = _translated(_refusal(500, b"", content_type="application/json"))
    assert "HTTP 500" in message
