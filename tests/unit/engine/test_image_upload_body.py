"""clients/image: an upload body of known size goes out with its Content-Length, unchunked,
each chunk whole (requests would send a bare iterable as `Transfer-Encoding: chunked`,
beside the length, which Glance then parses as chunks)."""

import http.server
import threading

import requests

from multisite.clients import image


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen = {}

    def do_PUT(self):  # noqa: N802 -- http.server's name
        length = int(self.headers.get("Content-Length", 0))
        type(self).seen.update(
            headers=dict(self.headers), body=self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_sized_body_is_sent_with_its_length_and_not_chunked():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    chunks = [b"a" * 1000, b"b" * 3000, b"c" * 7]
    try:
        resp = requests.put(f"http://127.0.0.1:{server.server_port}/file",
                            data=image._Sized(iter(chunks), 4007),
                            headers={"Content-Type": "application/octet-stream"}, timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    assert resp.status_code == 204
    headers = {k.lower(): v for k, v in _Recorder.seen["headers"].items()}
    assert headers.get("content-length") == "4007"
    assert "transfer-encoding" not in headers
    assert _Recorder.seen["body"] == b"".join(chunks)


def test_the_test_pause_passes_the_bytes_up_to_its_threshold_then_stops(monkeypatch):
    slept = []
    monkeypatch.setattr(image.time, "sleep", slept.append)
    chunks = image.paused_after(iter([b"a" * 4, b"b" * 4, b"c" * 4, b"d" * 4]), 6, "img")
    assert next(chunks) == b"a" * 4 and slept == []
    assert next(chunks) == b"b" * 4 and slept == []
    # 8 bytes are through: the pause comes before the third chunk
    assert next(chunks) == b"c" * 4 and slept == [3600]
