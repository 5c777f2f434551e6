"""What each layer of a quota GET costs: CPU per request, layer by layer (issue 21).

    .venv/bin/python -m bench.api_layers [--requests 3000] [--keystone]
    .venv/bin/python -m bench.api_layers --servers [--duration 5]

In-process (no server, no socket; the process's CPU over --requests calls, best of 3):
the WSGI call of an app that only answers a fixed JSON body (the loop itself), then the
same app under oslo.middleware's request id, then under the fault wrapper and access
log too, then the whole API (noauth) on GET os-quota-sets/{p}; its pieces called
alone: the policy check, the DB read of the effective limits, the config defaults.
With --keystone, the whole API under keystonemiddleware with one token it has already
validated (its in-process token cache), against the Keystone of the shared devcloud
(`multisite-devcloud env` variables OS_AUTH_URL, OS_USERNAME, OS_PASSWORD,
OS_PROJECT_NAME in the environment).

With --servers: the WSGI server alone, per gunicorn worker class (gunicorn 27 has no
eventlet worker; gevent is not installed), serving the fixed-body app to
bench/api_throughput.py's load driver (8 keep-alive client threads in their own process):
req/s and the server's CPU per request from /proc.
"""

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

from bench import api_throughput
from tests.functional.api import servers

_DIRECTORY = []
BODY = json.dumps({"quota_set": {name: 10 for name in ("cores", "ram", "instances")}}).encode()


def fixed_app(environ, start_response):
    """The cheapest WSGI answer: a fixed JSON body."""
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(BODY)))])
    return [BODY]


def _environ(method, path, headers, body=b""):
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
               "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
               "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr,
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
               "REMOTE_ADDR": "127.0.0.1"}
    environ.update({"HTTP_" + key.upper().replace("-", "_"): value
                    for key, value in headers.items()})
    return environ


def call(app, method, path, headers, body=b""):
    """(status, body) of one WSGI call."""
    answer = {}

    def start_response(status, _headers, _exc_info=None):
        answer["status"] = status

    chunks = app(_environ(method, path, headers, body), start_response)
    try:
        data = b"".join(chunks)
    finally:
        getattr(chunks, "close", lambda: None)()
    return answer["status"], data


def cpu_per_call(function, requests):
    """CPU ms of one call of function(), best of three runs of `requests` calls."""
    for _ in range(min(300, requests)):
        function()
    runs = []
    for _ in range(3):
        started = time.process_time()
        for _ in range(requests):
            function()
        runs.append((time.process_time() - started) * 1000 / requests)
    return min(runs)


def in_process(args):
    from oslo_middleware import request_id

    from multisite import cmd, context
    from multisite.api import app as api_app
    from multisite.api import policy
    from multisite.api.policies import quotas as quota_policies
    from multisite.objects import quotas

    directory = tempfile.mkdtemp(prefix="ms-layers-")
    _DIRECTORY.append(directory)       # removed by main() at the end
    config, _port = servers.write_config(
        directory, connection=f"sqlite:///{os.path.join(directory, 'layers.sqlite')}")
    if args.keystone:
        with open(config, "a") as f:
            f.write(_keystone_section())
    servers.manage(config, "db_sync")
    # logs to a file, as the API process writes its own (stderr to a file in the benches)
    conf = cmd.prepare(["--config-file", config,
                        "--log-file", os.path.join(directory, "api.log")])
    project = str(uuid.uuid4())
    path = f"/v1.0/{project}/os-quota-sets/{project}"
    noauth = {"X-Project-Id": project, "X-Roles": "admin", "X-User-Id": "bench"}
    app = api_app.build_app(conf)
    status, body = call(app, "PUT", path, noauth, b'{"quota_set": {"cores": 7}}')
    assert status.startswith("200"), body

    def measured(name, function):
        function()
        rows.append((name, cpu_per_call(function, args.requests)))
        print(f"| {name} | {rows[-1][1]:.3f} |", file=sys.stderr, flush=True)

    rows = []
    measured("WSGI call of a fixed-body app", lambda: call(fixed_app, "GET", path, noauth))
    measured("+ oslo.middleware request id",
             lambda: call(request_id.RequestId(fixed_app), "GET", path, noauth))
    wrapped = request_id.RequestId(api_app.FaultWrapper(fixed_app))
    measured("+ fault wrapper and access log (webob)", lambda: call(wrapped, "GET", path, noauth))
    measured("whole API, noauth: GET os-quota-sets/{p}", lambda: call(app, "GET", path, noauth))
    ctx = context.RequestContext(user_id="bench", project_id=project, roles=["admin"])
    measured("  of which: policy check (quota show)", lambda: policy.authorize(
        ctx, quota_policies.SHOW, {"project_id": project}))
    measured("  of which: DB read (quotas.effective)", lambda: quotas.effective(conf, project))
    measured("  of which: [kingbird_global_limit] options", lambda: quotas.config_defaults(conf))
    if args.keystone:
        rows += keystone_rows(args, conf, project)
    return rows


def _keystone_section():
    """[keystone_authtoken] for the devcloud's Keystone, from the OS_* variables."""
    env = os.environ
    return f"""[keystone_authtoken]
auth_type = password
auth_url = {env["OS_AUTH_URL"]}
www_authenticate_uri = {env["OS_AUTH_URL"]}
username = {env["OS_USERNAME"]}
password = {env["OS_PASSWORD"]}
project_name = {env["OS_PROJECT_NAME"]}
user_domain_name = {env.get("OS_USER_DOMAIN_NAME", "Default")}
project_domain_name = {env.get("OS_PROJECT_DOMAIN_NAME", "Default")}
"""


def keystone_rows(args, conf, project):
    """The whole API under keystonemiddleware, the token already validated and cached."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    from multisite.api import app as api_app

    env = os.environ
    sess = session.Session(auth=v3.Password(
        auth_url=env["OS_AUTH_URL"], username=env["OS_USERNAME"],
        password=env["OS_PASSWORD"], project_name=env["OS_PROJECT_NAME"],
        user_domain_name=env.get("OS_USER_DOMAIN_NAME", "Default"),
        project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default")))
    token, token_project = sess.get_token(), sess.get_project_id()
    conf.set_override("auth_strategy", "keystone")
    app = api_app.build_app(conf)
    path = f"/v1.0/{token_project}/os-quota-sets/{project}"
    headers = {"X-Auth-Token": token}
    status, body = call(app, "GET", path, headers)    # validated once, then cached
    assert status.startswith("200"), (status, body)
    cost = cpu_per_call(lambda: call(app, "GET", path, headers), args.requests)
    print(f"| whole API, keystonemiddleware (token cached) | {cost:.3f} |", file=sys.stderr)
    return [("whole API, keystonemiddleware, token cached: GET os-quota-sets/{p}", cost)]


def server_rows(args):
    """The server alone: gunicorn, one worker of each class, serving fixed_app."""
    rows = []
    for worker_class, extra in (("multisite.cmd.server.JSONErrorWorker", ["--threads", "8"]),
                                ("gthread", ["--threads", "8"]), ("sync", [])):
        port = servers.free_port()
        log = tempfile.NamedTemporaryFile(prefix="ms-layers-gunicorn-", suffix=".log")
        proc = subprocess.Popen(
            [os.path.join(servers.BIN, "gunicorn"), "--bind", f"127.0.0.1:{port}",
             "--workers", "1", "--worker-class", worker_class, *extra,
             "bench.api_layers:fixed_app"], stdout=log, stderr=subprocess.STDOUT,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            deadline = time.monotonic() + 60
            while not servers.port_open(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn {worker_class} did not start: "
                                     f"{open(log.name).read()[-2000:]}")
                time.sleep(0.2)
            time.sleep(1.0)
            load = os.getloadavg()[0]
            before = api_throughput.processes_cpu(proc.pid)
            figures = api_throughput.run_driver(port, "/", "bench", args.duration, 8)
            cpu = api_throughput.processes_cpu(proc.pid) - before
            rows.append((worker_class, figures, 1000 * cpu / max(figures["requests"], 1),
                         load))
            print(f"| {worker_class} | {figures['rps']:.0f} | {rows[-1][2]:.3f} | "
                  f"{load:.1f} |", file=sys.stderr, flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--keystone", action="store_true",
                        help="also the API under keystonemiddleware (OS_* variables)")
    parser.add_argument("--servers", action="store_true",
                        help="the WSGI server alone, per gunicorn worker class")
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} CPUs; uptime: {os.popen('uptime').read().strip()}")
    if args.servers:
        rows = server_rows(args)
        print("| gunicorn worker class (1 worker, fixed-body app) | req/s | "
              "server CPU ms/req | load |\n|---|---|---|---|")
        for worker_class, figures, cpu, load in rows:
            print(f"| {worker_class} | {figures['rps']:.0f} | {cpu:.3f} | {load:.1f} |")
        return
    start = time.process_time()
    try:
        rows = in_process(args)
    finally:
        while _DIRECTORY:
            shutil.rmtree(_DIRECTORY.pop(), ignore_errors=True)
    print(f"| layer (in-process, best of 3 x {args.requests}) | CPU ms per request |\n|---|---|")
    for name, cost in rows:
        print(f"| {name} | {cost:.3f} |")
    print(f"(CPU of this run: {time.process_time() - start:.1f} s; load "
          f"{os.getloadavg()[0]:.1f}; median of the rows "
          f"{statistics.median(cost for _, cost in rows):.3f} ms)")


if __name__ == "__main__":
    main()
