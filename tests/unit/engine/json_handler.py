"""A JSON answering base for the small HTTP stand-ins (Keystone) of the engine's tests."""

import http.server
import json


class JsonHandler(http.server.BaseHTTPRequestHandler):
    def _answer(self, status, body, token=None):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if token:
            self.send_header("X-Subject-Token", token)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass
