"""clients.session.PooledApi (the sync clients' JSON calls over clients.http) against a
real HTTP server on loopback: microversion headers, and every answer mapped to the same
RegionError classes and messages as the keystoneauth path."""

import http.server as http_server
import json
import socket
import threading

import pytest

from multisite.clients import errors, http, session
from tests.unit.engine.test_http_transport import _Tokens

ANSWERS = {
    "/v2.1/ok": (200, {"keypairs": []}),
    "/v2.1/missing": (404, {"itemNotFound": {"code": 404, "message": "Keypair k not found"}}),
    "/v2.1/taken": (409, {"NeutronError": {"message": "Duplicate rule", "type": "x"}}),
    "/v2.1/bad": (400, {"badRequest": {"message": "Invalid input"}}),
    "/v2.1/denied": (403, {"forbidden": {"message": "Policy does not allow"}}),
    "/v2.1/busy": (503, {"error": {"message": "try later"}}),
    "/v2.1/teapot": (418, "not json"),
}


@pytest.fixture
def api(monkeypatch):
    seen = []

    class Handler(http_server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            seen.append((self.command, self.path, self.headers.get("OpenStack-API-Version"),
                         self.headers.get("X-OpenStack-Nova-API-Version")))
            status, payload = ANSWERS[self.path]
            data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _answer

    srv = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{srv.server_address[1]}/v2.1"

    class Adapter:
        def get_endpoint(self):
            return endpoint

    pooled = http.Transport(_Tokens(), timeout=5)
    monkeypatch.setattr(session, "adapter", lambda *a, **k: Adapter())
    monkeypatch.setattr(session, "transport", lambda conf: pooled)
    yield session.PooledApi(None, "compute", "RegionTwo", microversion="2.10"), seen
    srv.shutdown()
    srv.server_close()


def test_calls_carry_the_microversion_and_answer_json(api):
    client, seen = api
    with session.translate("RegionTwo", "list keypairs"):
        assert client.get("/ok").json() == {"keypairs": []}
    assert seen == [("GET", "/v2.1/ok", "compute 2.10", "2.10")]


@pytest.mark.parametrize("path,kind,message", [
    ("/missing", session.NotFound, "get keypair k: HTTP 404 Keypair k not found"),
    ("/taken", session.Conflict, "create rule: HTTP 409 Duplicate rule"),
    ("/bad", session.BadRequest, "HTTP 400 Invalid input"),
    ("/denied", session.Forbidden, "HTTP 403 Policy does not allow"),
    ("/busy", session.Unavailable, "HTTP 503 try later"),
    ("/teapot", errors.RegionRejected, "HTTP 418 not json"),
])
def test_error_answers_map_to_the_region_errors(api, path, kind, message):
    client, _ = api
    what = {"/missing": "get keypair k", "/taken": "create rule"}.get(path, "call")
    with pytest.raises(kind) as raised, session.translate("RegionTwo", what):
        client.post(path, json={"x": 1})
    assert raised.value.region == "RegionTwo"
    assert message in str(raised.value)
    assert raised.value.status == int(message.split("HTTP ")[1][:3])


def test_an_unreachable_region_names_the_action(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Adapter:
        def get_endpoint(self):
            return f"http://127.0.0.1:{port}/v2.0"

    pooled = http.Transport(_Tokens(), timeout=2)
    monkeypatch.setattr(session, "adapter", lambda *a, **k: Adapter())
    monkeypatch.setattr(session, "transport", lambda conf: pooled)
    client = session.PooledApi(None, "network", "RegionThree")
    with pytest.raises(session.Unavailable) as raised, \
            session.translate("RegionThree", "list security groups of p"):
        client.get("/security-groups")
    text = str(raised.value)
    assert text.startswith("RegionThree: unreachable during list security groups of p: GET ")
    assert text.count("RegionThree") == 1
