"""Token validation latency through keystonemiddleware with `auth_type = multisite_failover`
against the stock `password` plugin, on the devcloud's healthy Keystone; then the latency of
the first request after the local Keystone dies (connection refused) or hangs (accepts, never
answers), and of the requests after it.

Needs the devcloud (Keystone on :5000). Every validation goes to Keystone (token_cache_time
= -1); the two middlewares alternate call by call so that load changes hit both alike.

Usage: python -m bench.identity_failover [--calls 300]
"""

import argparse
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import webob
from keystonemiddleware import auth_token
from oslo_config import cfg

from multisite.clients import identity

KEYSTONE = "http://127.0.0.1:5000/v3"
USER = {"username": "nova", "password": "novapw", "project_name": "service"}


class Forwarder:
    """A TCP forwarder standing for the local Keystone: forwards, hangs or is gone."""

    def __init__(self, target):
        self.target, self.mode = target, "forward"
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        upstream = socket.create_connection(("127.0.0.1", self.target))
        self.conns.append(upstream)

        def pump(src, dst):
            try:
                while data := src.recv(65536):
                    while self.mode == "hang":
                        time.sleep(0.05)
                    dst.sendall(data)
            except OSError:
                pass
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
        pump(client, upstream)

    def close(self):
        self.sock.close()
        for conn in self.conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def middleware(tmp, name, *, auth_type, auth_url, failover_urls="", read_timeout=2.0):
    lines = ["[keystone_authtoken]", f"auth_type = {auth_type}", f"auth_url = {auth_url}",
             f"username = {USER['username']}", f"password = {USER['password']}",
             f"project_name = {USER['project_name']}", "user_domain_name = Default",
             "project_domain_name = Default", "token_cache_time = -1",
             "http_request_max_retries = 0"]
    if auth_type == "multisite_failover":
        lines += [f"failover_urls = {failover_urls}", "failover_connect_timeout = 1",
                  f"failover_read_timeout = {read_timeout}", "failover_retry_after = 300"]
    path = Path(tmp) / f"{name}.conf"
    path.write_text("\n".join(lines) + "\n")
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(path)], project=name)
    return auth_token.AuthProtocol(_app, {"oslo_config_config": conf})


def timed(app, token):
    started = time.perf_counter()
    resp = webob.Request.blank("/", headers={"X-Auth-Token": token}).get_response(app)
    took = time.perf_counter() - started
    assert resp.status_int == 200, resp.status
    return took


def summary(name, times):
    times = sorted(times)
    p95 = times[int(len(times) * 0.95) - 1]
    return f"{name:38s} median={statistics.median(times) * 1000:7.2f} ms  p95={p95 * 1000:7.2f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-failover-")
    token = identity.issue_token(KEYSTONE, username="admin", password="adminpw",
                                 project_name="admin", timeout=60)
    stock = middleware(tmp, "stock", auth_type="password", auth_url=KEYSTONE)
    plugin = middleware(tmp, "plugin", auth_type="multisite_failover", auth_url=KEYSTONE,
                        failover_urls="http://127.0.0.1:30598/v3")
    for app in (stock, plugin):  # service tokens, connections
        timed(app, token)
    times = {"stock": [], "plugin": []}
    for _ in range(args.calls):
        times["stock"].append(timed(stock, token))
        times["plugin"].append(timed(plugin, token))
    print(summary("password plugin (healthy Keystone)", times["stock"]))
    print(summary("multisite_failover (same Keystone)", times["plugin"]))
    print(f"ratio multisite_failover / password: "
          f"{statistics.median(times['plugin']) / statistics.median(times['stock']):.3f}x")

    # the local Keystone is a forwarder to :5000; warmed up, then it dies or hangs
    for mode in ("refuse", "hang"):
        local = Forwarder(5000)
        app = middleware(tmp, f"local-{mode}", auth_type="multisite_failover",
                         auth_url=f"http://127.0.0.1:{local.port}/v3", failover_urls=KEYSTONE,
                         read_timeout=2.0)
        warm = [timed(app, token) for _ in range(20)]
        local.mode = mode
        if mode == "refuse":
            local.close()
        first = timed(app, token)
        after = [timed(app, token) for _ in range(20)]
        label = "dies (connection refused)" if mode == "refuse" else "hangs (read timeout 2 s)"
        print(summary("local healthy (through it)", warm))
        print(f"{'local ' + label + ': first':38s} {first * 1000:7.2f} ms")
        print(summary(f"local {mode}: next 20", after))
        local.close()

if __name__ == "__main__":
    main()
