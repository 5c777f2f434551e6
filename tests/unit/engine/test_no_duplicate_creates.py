"""clients/session.Adapter: a create the region answers late is not sent again; reads
are still retried once."""

import http.server
import threading

import pytest
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from multisite.clients import session


class SlowRegion(http.server.BaseHTTPRequestHandler):
    """Answers every request after `delay` seconds; counts what it received."""

    received: list = []
    delay = 1.0
    gate = threading.Event()

    def _answer(self):
        self.received.append(self.command)
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.gate.wait(self.delay)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def region():
    SlowRegion.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowRegion)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    SlowRegion.gate.set()
    server.shutdown()
    server.server_close()
    SlowRegion.gate.clear()


def _adapter(url):
    sess = ks_session.Session(timeout=0.2)
    return session.Adapter(sess, endpoint_override=url, connect_retries=1,
                           connect_retry_delay=0.01)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_create_answered_late_is_sent_once(region, method):
    with pytest.raises(ks_exc.ConnectTimeout):
        _adapter(region).request("/snapshots", method, json={"snapshot": {}})
    SlowRegion.gate.set()
    assert SlowRegion.received == [method]


def test_a_read_answered_late_is_retried_once(region):
    with pytest.raises(ks_exc.ConnectTimeout):
        _adapter(region).get("/snapshots")
    assert SlowRegion.received == ["GET", "GET"]
