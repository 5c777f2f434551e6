"""An in-process Multisite API on a real socket, and the CLI run in this process."""

import io
import threading
import wsgiref.simple_server

import pytest

from multisite.cli import shell


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def api_url(wsgi_app):
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, wsgi_app,
                                               handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def cli(api_url, project_id, monkeypatch):
    """run(*argv, roles=...) -> (exit code, stdout, stderr) in noauth mode."""
    for name in ("OS_CLOUD", "OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_AUTH_TYPE",
                 "OS_PROJECT_NAME", "OS_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OS_MULTISITE_URL", api_url)
    monkeypatch.setenv("OS_PROJECT_ID", project_id)

    def run(*argv, roles="admin"):
        monkeypatch.setenv("OS_MULTISITE_ROLES", roles)
        out, err = io.StringIO(), io.StringIO()
        code = shell.MultisiteShell(stdout=out, stderr=err).run(list(argv))
        return code, out.getvalue(), err.getvalue()

    return run
