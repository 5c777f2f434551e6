"""HTTP/1.1 for the region calls: keep-alive connections pooled per host, one request at a
time per connection, the answer's status and body.

Region calls need nothing more (no redirects, no cookies, no streaming, JSON bodies), and
their CPU bounds the engine: urllib3's request path (URL parsing, pool keys, Timeout
objects, header validation, http.client's email-based header parser, the response
wrapper) cost about 0.6 ms of CPU per call on the benchmark's machine, against about
0.1 ms for the same exchange written here (bench/region_probes.py, bench/policy_audit.py
and bench/quota_rebalance.py print the CPU per call).

What it keeps from urllib3 as the clients used it: connect and read timeouts (`timeout`
per connect and per read), TCP_NODELAY, TLS verified against a CA bundle with the
server's name checked, at most `maxsize` idle connections kept per host (more may be
open at once; the surplus is closed after its call), an idle connection that the server
closed (or that holds unexpected bytes) is never reused, gzip/deflate answers decoded.
A reused connection that fails before any byte of the answer is retried once on a new
one, for the methods that may be repeated (not POST, PATCH).
"""

import functools
import select
import socket
import ssl
import threading
import zlib
from urllib import parse

MAX_LINE = 65536
MAX_HEADERS = 200
_RETRIABLE = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS"))
# RFC 3986 reserved and unreserved characters, and '%' (already-escaped bytes stay so)
_SAFE = "/?#[]@!$&'()*+,;=-._~%:"


class ProtocolError(OSError):
    """An answer that is not HTTP/1.x as expected (also: the server closed mid-answer)."""


class _Stale(Exception):
    """A reused connection failed before any byte of its answer."""


@functools.lru_cache(maxsize=8192)
def target(url):
    """(pool key (scheme, host, port), Host header value, request target) of a URL."""
    parts = parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    port = parts.port or (443 if scheme == "https" else 80)
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    if port != (443 if scheme == "https" else 80):
        shown = f"{shown}:{port}"
    path = parse.quote(parts.path or "/", safe=_SAFE)
    if parts.query:
        path += "?" + parse.quote(parts.query, safe=_SAFE)
    return (scheme, host, port), shown.encode("ascii"), path.encode("ascii")


class Connection:
    __slots__ = ("sock", "file", "used")

    def __init__(self, sock):
        self.sock = sock
        self.file = sock.makefile("rb")
        self.used = False

    def dropped(self):
        """True if the server closed the idle connection (or sent something unasked)."""
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()


class Pool:
    """Connections per (scheme, host, port); `request` is thread-safe."""

    def __init__(self, *, maxsize=10, timeout=10.0, ca_certs=None):
        self.maxsize = maxsize
        self.timeout = timeout
        self._ca_certs = ca_certs
        self._tls = None
        self._idle = {}
        self._lock = threading.Lock()

    def _context(self):
        if self._tls is None:
            self._tls = ssl.create_default_context(cafile=self._ca_certs)
        return self._tls

    def _connect(self, key):
        scheme, host, port = key
        sock = socket.create_connection((host, port), timeout=self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._context().wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        return Connection(sock)

    def _take(self, key):
        while True:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._connect(key)
            if not conn.dropped():
                return conn
            conn.close()

    def _give(self, key, conn):
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.maxsize:
                idle.append(conn)
                return
        conn.close()

    def request(self, method, url, *, headers, body=None):
        """(status, body bytes). `headers`: the header lines as bytes, each ending in
        CRLF (Host and Content-Length are added). Raises OSError (socket errors,
        timeouts, TLS errors, ProtocolError) when no answer came."""
        key, host, path = target(url)
        head = [method.encode("ascii"), b" ", path, b" HTTP/1.1\r\nHost: ", host, b"\r\n",
                headers]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d\r\n" % len(body or b""))
        head.append(b"\r\n")
        if body:
            head.append(body)
        data = b"".join(head)
        conn = self._take(key)
        try:
            try:
                status, answer, keep = self._exchange(conn, method, data)
            except _Stale:
                conn.close()
                conn = self._connect(key)
                status, answer, keep = self._exchange(conn, method, data, retry=False)
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give(key, conn)
        else:
            conn.close()
        return status, answer

    def _exchange(self, conn, method, data, *, retry=True):
        reused, conn.used = conn.used, True
        try:
            conn.sock.sendall(data)
            line = conn.file.readline(MAX_LINE + 1)
        except (ConnectionError, ssl.SSLEOFError):
            if reused and retry and method in _RETRIABLE:
                raise _Stale() from None
            raise
        if not line:
            if reused and retry and method in _RETRIABLE:
                raise _Stale()
            raise ProtocolError("the server closed the connection without an answer")
        return _answer(conn.file, method, line)

    def close(self):
        """Close the idle connections."""
        with self._lock:
            held, self._idle = self._idle, {}
        for idle in held.values():
            for conn in idle:
                conn.close()


def _status(line):
    if len(line) > MAX_LINE or not line.startswith(b"HTTP/1."):
        raise ProtocolError(f"not an HTTP/1.x status line: {line[:80]!r}")
    try:
        return int(line[9:12]), line[5:8] == b"1.1"
    except ValueError:
        raise ProtocolError(f"bad status line: {line[:80]!r}") from None


def _headers(file):
    """{lower-case name: value} of the answer's headers (repeated ones joined by ', ')."""
    found = {}
    for _ in range(MAX_HEADERS):
        line = file.readline(MAX_LINE + 1)
        if line in (b"\r\n", b"\n"):
            return found
        if not line or len(line) > MAX_LINE:
            raise ProtocolError("the answer's headers end early or are too long")
        name, sep, value = line.partition(b":")
        if not sep:
            continue
        name, value = name.strip().lower(), value.strip()
        found[name] = found[name] + b", " + value if name in found else value
    raise ProtocolError("too many headers in the answer")


def _answer(file, method, line):
    """(status, body, keep-alive) of the answer whose status line is `line`."""
    while True:
        status, http11 = _status(line)
        headers = _headers(file)
        if not 100 <= status < 200 or status == 101:
            break
        line = file.readline(MAX_LINE + 1)      # an interim answer: the real one follows
    connection = headers.get(b"connection", b"").lower()
    keep = (b"close" not in connection) if http11 else (b"keep-alive" in connection)
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        body = _chunked(file)
    elif b"content-length" in headers:
        try:
            length = int(headers[b"content-length"].split(b",")[0])
        except ValueError:
            raise ProtocolError("bad Content-Length") from None
        body = file.read(length)
        if len(body) != length:
            raise ProtocolError(f"answer cut short: {len(body)} of {length} bytes")
    else:
        body, keep = file.read(), False
    encoding = headers.get(b"content-encoding", b"").lower()
    if encoding in (b"gzip", b"x-gzip"):
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":
        try:
            body = zlib.decompress(body)
        except zlib.error:
            body = zlib.decompress(body, -zlib.MAX_WBITS)
    return status, body, keep


def _chunked(file):
    parts = []
    while True:
        line = file.readline(MAX_LINE + 1)
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size: {line[:40]!r}") from None
        if size == 0:
            _headers(file)                       # the trailer
            return b"".join(parts)
        chunk = file.read(size)
        if len(chunk) != size or file.read(2) != b"\r\n":
            raise ProtocolError("chunked answer cut short")
        parts.append(chunk)

