"""The dashboard's session cookie and its CSRF token (see docs/dashboard.md)."""

import base64
import hashlib
import hmac
import http.cookies

NAME = "multisite_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_CSRF_PURPOSE = b"multisite-dashboard-csrf/1"


def csrf_token(token):
    """The CSRF token of a session: an HMAC keyed by the session's Keystone token.

    Only a page that can read the session (same origin) learns it; it reveals nothing
    about the token, and every API worker computes it without shared state.
    """
    digest = hmac.new(token.encode(), _CSRF_PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_valid(token, presented):
    return bool(presented) and hmac.compare_digest(csrf_token(token), presented)


def from_environ(environ):
    """The session token carried by the request's cookie, or None."""
    raw = environ.get("HTTP_COOKIE")
    if not raw:
        return None
    jar = http.cookies.SimpleCookie()
    try:
        jar.load(raw)
    except http.cookies.CookieError:
        return None
    morsel = jar.get(NAME)
    return morsel.value if morsel is not None and morsel.value else None


def _secure(req, conf):
    mode = conf.dashboard.secure_cookie
    return mode == "always" or (mode == "auto" and req.scheme == "https")


def set_session(response, req, conf, token, max_age):
    response.set_cookie(NAME, token, max_age=max(int(max_age), 0),
                        path=(req.script_name or "") + "/", httponly=True,
                        samesite="strict", secure=_secure(req, conf))


def clear_session(response, req, conf):
    response.set_cookie(NAME, "", max_age=0, path=(req.script_name or "") + "/",
                        httponly=True, samesite="strict", secure=_secure(req, conf))
