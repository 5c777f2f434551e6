"""clients.http.Transport against a real HTTP server on loopback (no OpenStack)."""

import http.server as http_server
import json
import socket
import threading

import pytest

from multisite.clients import errors, http


class _Tokens:
    """The keystoneauth side: hands out tokens, counts invalidations."""

    def __init__(self):
        self.issued = 0
        self.invalidated = 0

    def get_auth_headers(self):
        return {"X-Auth-Token": f"token-{self.issued}"}

    def invalidate(self):
        self.invalidated += 1
        self.issued += 1
        return True


@pytest.fixture
def server():
    seen = []
    valid = {"token-0"}

    class Handler(http_server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            token = self.headers.get("X-Auth-Token")
            seen.append((self.command, self.path, token,
                         self.headers.get("OpenStack-API-Version"), body))
            status, payload = (200, {"echo": self.path}) if token in valid else (401, {})
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = _answer

    srv = http_server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", seen, valid
    srv.shutdown()
    srv.server_close()


def test_calls_carry_the_service_token_body_and_headers(server):
    url, seen, _ = server
    transport = http.Transport(_Tokens(), timeout=5)
    resp = transport.request("PUT", f"{url}/quotas/p1", region="R", json={"quota": {"a": 1}},
                             headers={"OpenStack-API-Version": "compute 2.1"})
    assert resp.status_code == 200
    assert resp.json() == {"echo": "/quotas/p1"}
    assert seen == [("PUT", "/quotas/p1", "token-0", "compute 2.1",
                     b'{"quota": {"a": 1}}')]


def test_a_refused_token_is_renewed_once(server):
    url, seen, valid = server
    tokens = _Tokens()
    transport = http.Transport(tokens, timeout=5)
    assert transport.request("GET", f"{url}/a", region="R").status_code == 200
    valid.clear()
    valid.add("token-1")          # Keystone revoked token-0
    assert transport.request("GET", f"{url}/b", region="R").status_code == 200
    assert tokens.invalidated == 1
    assert [s[2] for s in seen] == ["token-0", "token-0", "token-1"]
    # still refused after renewal: the 401 is the answer (no loop)
    valid.clear()
    assert transport.request("GET", f"{url}/c", region="R").status_code == 401
    assert tokens.invalidated == 2


def test_an_unreachable_region_is_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]      # closed again: nothing listens there
    transport = http.Transport(_Tokens(), timeout=2)
    with pytest.raises(errors.RegionUnavailable) as raised:
        transport.request("GET", f"http://127.0.0.1:{port}/x", region="RegionTwo")
    assert raised.value.region == "RegionTwo"
    assert raised.value.temporary


def test_tls_bundle_and_proxies_follow_the_environment(server):
    assert http.ca_bundle({"REQUESTS_CA_BUNDLE": "/etc/ssl/site.pem"}) == "/etc/ssl/site.pem"
    assert http.ca_bundle({"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"}) == "/etc/ssl/curl.pem"
    assert http.ca_bundle({}).endswith(".pem")
    assert not http.Transport(_Tokens(), environ={"NO_PROXY": "x"}).via_session
    url, seen, _ = server

    class Session(_Tokens):
        """keystoneauth's Session.request, as the proxied path calls it."""

        calls = []

        def request(self, url, method, **kwargs):
            self.calls.append((method, url, kwargs["json"], kwargs["raise_exc"]))

            class Resp:
                status_code = 200
                content = b'{"via": "session"}'
            return Resp()

    transport = http.Transport(Session(), environ={"https_proxy": "http://proxy:3128"})
    assert transport.via_session
    resp = transport.request("PUT", f"{url}/q", region="R", json={"a": 1})
    assert resp.json() == {"via": "session"}
    assert Session.calls == [("PUT", f"{url}/q", {"a": 1}, False)]
    assert seen == []          # nothing went straight to the region


def test_a_listing_in_pages_has_one_digest_and_its_items_in_order():
    def parse(body):
        return json.loads(body)["items"]

    one, two = b'{"items": [1, 2]}', b'{"items": [3]}'
    listing = http.Listing.pages([one, two], parse)
    assert listing.items == [1, 2, 3]
    assert listing.digest == http.Listing.pages([one, two], parse).digest
    assert listing.digest != http.Listing.pages([two, one], parse).digest
    assert listing.digest != http.Listing.pages([one + two], parse).digest
    single = http.Listing.pages([one], parse)
    assert single.digest == http.Listing(one, parse).digest and single.items == [1, 2]
