"""Serves the operator dashboard's static page under /dashboard/ (no build step, no CDN)."""

import hashlib
import html
import logging
import mimetypes
from pathlib import Path

import webob
import webob.dec

from multisite.api import bundle, errors

LOG = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).with_name("static")
PREFIX = "/dashboard"
# Everything comes from this origin; no inline script or style, no frames, no plugins.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml",
         ".html": "text/html", ".png": "image/png"}
IMMUTABLE = "public, max-age=31536000, immutable"
ENTRY = "app.js"
# the modules joined into one script (multisite/api/bundle.py); not a file in static/
BUNDLE = "app.bundle.js"


def load(directory=STATIC_DIR):
    """{relative path: (bytes, content type, etag)} and the version of the whole set."""
    files, digest = {}, hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        rel = path.relative_to(directory).as_posix()
        data = path.read_bytes()
        digest.update(rel.encode() + b"\0" + data)
        kind = TYPES.get(path.suffix) or mimetypes.guess_type(rel)[0] or "application/octet-stream"
        files[rel] = (data, kind, '"' + hashlib.sha256(data).hexdigest()[:20] + '"')
    return files, digest.hexdigest()[:12]


def with_bundle(files):
    """`files` plus BUNDLE, every module joined; unchanged if the modules cannot be."""
    sources = {rel: data.decode() for rel, (data, _kind, _etag) in files.items()
               if rel.endswith(".js")}
    try:
        joined = bundle.bundle(sources, ENTRY).encode()
    except bundle.BundleError as exc:
        LOG.warning("Dashboard served as separate modules: %s", exc)
        return files
    etag = '"' + hashlib.sha256(joined).hexdigest()[:20] + '"'
    return {**files, BUNDLE: (joined, TYPES[".js"], etag)}


class StaticPages:
    """GET /dashboard/ (the page, revalidated) and /dashboard/static/<version>/<file>.

    Assets live under a path naming the version of the whole set, so they are cached
    for a year and a new release is fetched at once; the page itself is revalidated.
    """

    def __init__(self, app, conf, *, directory=STATIC_DIR):
        self.app = app
        self.conf = conf
        files, self.version = load(directory)
        self.files = with_bundle(files)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)
        return self.serve(environ, start_response)

    @webob.dec.wsgify
    def serve(self, req):
        if req.method not in ("GET", "HEAD"):
            response = errors.error_response(
                405, "request.method_not_allowed",
                f"Method {req.method} not allowed on {req.path_info}",
                headers={"Allow": "GET, HEAD"})
        elif req.path_info == PREFIX:
            response = webob.Response(status=301, location=req.script_name + PREFIX + "/")
        elif req.path_info == PREFIX + "/":
            response = self._index(req)
        else:
            response = self._asset(req)
        response.headers.update(SECURITY_HEADERS)
        return response

    def _index(self, req):
        data, kind, _etag = self.files["index.html"]
        root = html.escape(req.script_name, quote=True)
        static = f"{root}{PREFIX}/static/{self.version}"
        if BUNDLE in self.files:
            # one script: one request instead of a wave per six modules
            script, preload = BUNDLE, ""
        else:
            # Every module announced up front: the browser fetches them in parallel
            # instead of discovering them import by import (three round trips deep).
            script = ENTRY
            preload = "\n".join(f'<link rel="modulepreload" href="{static}/{rel}">'
                                 for rel in sorted(self.files) if rel.endswith(".js"))
        page = (data.decode()
                .replace("{{PRELOAD}}", preload)
                .replace("{{SCRIPT}}", script)
                .replace("{{STATIC}}", static)
                .replace("{{API}}", root)
                .replace("{{AUTH}}", html.escape(self.conf.auth_strategy, quote=True))
                .encode())
        etag = '"' + hashlib.sha256(page).hexdigest()[:20] + '"'
        return self._file(req, page, kind, etag, "no-cache")

    def _asset(self, req):
        rest = req.path_info[len(PREFIX + "/static/"):]
        version, _, rel = rest.partition("/")
        found = self.files.get(rel) if req.path_info.startswith(PREFIX + "/static/") else None
        if found is None or rel == "index.html":
            return errors.error_response(404, "request.not_found",
                                         f"No such resource: {req.path_info}")
        # A page of the previous release may still ask for its version: answer with the
        # current file, but do not let anything cache that pairing.
        cache = IMMUTABLE if version == self.version else "no-cache"
        return self._file(req, *found, cache)

    @staticmethod
    def _file(req, data, kind, etag, cache):
        headers = {"ETag": etag, "Cache-Control": cache}
        if etag in req.headers.get("If-None-Match", ""):
            response = webob.Response(status=304)
            response.headers.update(headers)
            return response
        charset = "UTF-8" if kind.startswith("text/") or kind.endswith("+xml") else None
        response = webob.Response(body=data, content_type=kind, charset=charset)
        response.headers.update(headers)
        return response
