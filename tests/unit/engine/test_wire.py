"""clients.wire against a scripted HTTP server on loopback: framing, keep-alive, retries."""

import gzip
import socket
import threading

import pytest

from multisite.clients import errors, http, wire


class Scripted:
    """Accepts connections; answers each request with the next scripted bytes (None:
    close the connection without answering). Records (connection number, request)."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.seen = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        number = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            number += 1
            threading.Thread(target=self._serve, args=(conn, number), daemon=True).start()

    def _serve(self, conn, number):
        file = conn.makefile("rb")
        with conn:
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = file.readline()
                    if not line:
                        return
                    head += line
                length = [int(h.split(b":")[1]) for h in head.split(b"\r\n")
                          if h.lower().startswith(b"content-length:")]
                body = file.read(length[0]) if length else b""
                with self._lock:
                    self.seen.append((number, head, body))
                    answer = self.answers.pop(0)
                if answer is None:
                    return
                conn.sendall(answer)
                if b"Connection: close" in answer or answer.startswith(b"HTTP/1.0"):
                    return

    def close(self):
        self.sock.close()


def ok(body=b'{"a": 1}', extra=b""):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


@pytest.fixture
def scripted():
    servers = []

    def make(answers):
        servers.append(Scripted(answers))
        return servers[-1]
    yield make
    for server in servers:
        server.close()


def test_keep_alive_reuses_one_connection_and_frames_bodies(scripted):
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"4\r\n{\"b\"\r\n4;x=y\r\n: 2}\r\n0\r\nTrailer: t\r\n\r\n")
    packed = gzip.compress(b'{"c": 3}')
    server = scripted([ok(), chunked,
                       ok(packed, b"Content-Encoding: gzip\r\n"),
                       b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b'{"d": 4}'),
                       b"HTTP/1.1 204 No Content\r\n\r\n", ok(b"[]")])
    pool = wire.Pool(timeout=5)
    lines = b"X-Auth-Token: t\r\n"
    assert pool.request("GET", server.url + "/a?x=1", headers=lines) == (200, b'{"a": 1}')
    assert pool.request("GET", server.url + "/b", headers=lines) == (200, b'{"b": 2}')
    assert pool.request("GET", server.url + "/c", headers=lines) == (200, b'{"c": 3}')
    assert pool.request("PUT", server.url + "/d", headers=lines,
                        body=b'{"q": 1}') == (200, b'{"d": 4}')
    assert pool.request("DELETE", server.url + "/e", headers=lines) == (204, b"")
    assert pool.request("POST", server.url + "/f", headers=lines) == (200, b"[]")
    assert {number for number, _h, _b in server.seen} == {1}
    first = server.seen[0][1].decode()
    assert first.startswith("GET /a?x=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{server.port}\r\n" in first and "X-Auth-Token: t\r\n" in first
    assert server.seen[3][2] == b'{"q": 1}'
    assert b"Content-Length: 0\r\n" in server.seen[5][1]     # a POST without a body


def test_a_closing_server_is_not_reused(scripted):
    server = scripted([ok(extra=b"Connection: close\r\n"),
                       b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
                       b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end"])
    pool = wire.Pool(timeout=5)
    assert pool.request("GET", server.url + "/1", headers=b"")[0] == 200
    assert pool.request("GET", server.url + "/2", headers=b"") == (200, b"{}")
    assert pool.request("GET", server.url + "/3", headers=b"") == (200, b"to the end")
    assert [number for number, _h, _b in server.seen] == [1, 2, 3]


def test_a_stale_connection_is_retried_once_for_a_get_never_for_a_post(scripted):
    # the server drops the connection on the second request, without answering
    server = scripted([ok(), None, ok(b'{"again": 1}'), ok(), None])
    pool = wire.Pool(timeout=5)
    pool.request("GET", server.url + "/x", headers=b"")
    # the idle check passes (the drop happens after the request is read): retried
    assert pool.request("GET", server.url + "/x", headers=b"") == (200, b'{"again": 1}')
    assert [number for number, _h, _b in server.seen] == [1, 1, 2]
    pool.request("GET", server.url + "/y", headers=b"")
    with pytest.raises(OSError):
        pool.request("POST", server.url + "/y", headers=b"", body=b"{}")
    assert [number for number, _h, _b in server.seen] == [1, 1, 2, 2, 2]


def test_a_connection_the_server_closed_while_idle_is_replaced(scripted):
    server = scripted([ok(extra=b"Keep-Alive: timeout=1\r\n"), ok()])
    pool = wire.Pool(timeout=5)
    pool.request("GET", server.url + "/x", headers=b"")
    held = pool._idle[("http", "127.0.0.1", server.port)][0]
    held.sock.shutdown(socket.SHUT_RD)          # as if the server had closed it
    assert held.dropped()
    assert pool.request("POST", server.url + "/x", headers=b"", body=b"{}")[0] == 200
    assert [number for number, _h, _b in server.seen] == [1, 2]


@pytest.mark.parametrize("answer", [b"garbage\r\n\r\n",
                                    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                                    b"Connection: close\r\n\r\nshort"])
def test_broken_answers_are_errors(scripted, answer):
    server = scripted([answer])
    with pytest.raises(wire.ProtocolError):
        wire.Pool(timeout=5).request("GET", server.url + "/x", headers=b"")


def test_a_silent_server_times_out(scripted):
    server = scripted([])      # reads the request, never answers (pop from empty: dies)
    server.answers = _Never()
    with pytest.raises(TimeoutError):
        wire.Pool(timeout=0.3).request("GET", server.url + "/x", headers=b"")


class _Never(list):
    def pop(self, _index=-1):
        threading.Event().wait(5)
        return None


def test_targets_quote_unsafe_characters_and_show_the_port():
    assert wire.target("http://h:8774/v2.1/a b?name=x y") == (
        ("http", "h", 8774), b"h:8774", b"/v2.1/a%20b?name=x%20y")
    assert wire.target("https://[::1]/v3/%2F") == (("https", "::1", 443), b"[::1]",
                                                  b"/v3/%2F")
    with pytest.raises(ValueError):
        wire.target("ftp://h/x")


def test_a_patch_replaces_the_json_content_type(scripted):
    server = scripted([ok(), ok()])

    class Tokens:
        def get_auth_headers(self):
            return {"X-Auth-Token": "tok"}

    transport = http.Transport(Tokens(), timeout=5)
    media = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    for _ in range(2):          # the second from the cached header set
        transport.request("PATCH", server.url + "/i", region="R", json=[], headers=media)
    for _number, head, _body in server.seen:
        assert head.count(b"Content-Type:") == 1
        assert b"Content-Type: application/openstack-images-v2.1-json-patch" in head
        assert b"X-Auth-Token: tok" in head


def test_invalid_header_values_are_refused_before_sending():
    with pytest.raises(ValueError):
        http.header_lines({"X-A": "x\r\nInjected: 1"})
    transport = http.Transport(type("T", (), {"get_auth_headers": lambda s: {"X": "t"}})(),
                               timeout=1)
    with pytest.raises(ValueError):       # a bug of the caller, as http.client raised it
        transport.request("GET", "http://127.0.0.1:9/x", region="R",
                          headers={"X-B": "a\nb"})
    with pytest.raises(errors.RegionUnavailable):   # nothing listens on port 9
        transport.request("GET", "http://127.0.0.1:9/x", region="R")
