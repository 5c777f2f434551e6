"""``multisite-devcloud``: a real multi-region OpenStack on this machine (docs/devcloud.md)."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shlex
import shutil
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from multisite.devcloud import install as inst
from multisite.devcloud import layout as L
from multisite.devcloud import rabbit
from multisite.devcloud import services as S
from multisite.devcloud.client_files import openrc_text, write_client_files
from multisite.devcloud.keystone_setup import Keystone, setup

REVIVE_MAX = 2     # restarts of one daemon during `up`'s readiness checks


def reviver(services, log):
    """A callable starting again, at most REVIVE_MAX times each, the agent daemons of
    `services` (nova-compute, cinder-volume, ...) that exited after they answered."""
    from multisite.devcloud.daemons import Daemon

    restarts = {}

    def revive() -> None:
        for svc in services:
            if not isinstance(svc, Daemon) or svc.is_running():
                continue
            if restarts.get(svc.name, 0) >= REVIVE_MAX:
                continue
            restarts[svc.name] = restarts.get(svc.name, 0) + 1
            log(f"  {svc.name:<12} exited after it answered; starting it again "
                f"({restarts[svc.name]}/{REVIVE_MAX}); see {svc.log_file}")
            svc.start()
    return revive

def log(msg: str) -> None:
    print(msg, flush=True)


@contextlib.contextmanager
def locked(layout: L.Layout):
    """Serialise up/down (e.g. several pytest-xdist workers starting the devcloud at once)."""
    layout.base.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# -- up -----------------------------------------------------------------------------------------
def cmd_up(args) -> int:
    layout = L.Layout(args.base)
    recorded = layout.read_state().get("port_offset")
    if args.port_offset is not None:
        if recorded is not None and int(recorded) != args.port_offset:
            log(f"error: the devcloud in {layout.base} uses --port-offset {recorded}; run "
                "`multisite-devcloud down --purge` to change it")
            return 1
        layout = L.Layout(args.base, args.port_offset)
    if not 0 <= layout.port_offset <= 4999:
        log("error: --port-offset must be between 0 and 4999")
        return 2
    if args.regions is None:
        args.regions = int(os.environ.get("MULTISITE_DEVCLOUD_REGIONS")
                           or layout.read_state().get("regions") or 3)
    n = args.regions
    if not 1 <= n <= L.MAX_REGIONS:
        log(f"error: --regions must be between 1 and {L.MAX_REGIONS}")
        return 2
    state = layout.read_state()
    full = (args.profile or state.get("profile")) == "full"
    db = args.db or state.get("db") or ("mysql" if full else "sqlite")
    if args.keystones is None:
        args.keystones = int(state.get("keystones", 1))
    if args.keystones > 1 and db != "mysql":
        log("error: --keystones 2 needs --db mysql (both keystones share one database)")
        return 2
    if not 1 <= args.keystones <= min(2, n):
        log("error: --keystones is 1 or 2 (2 needs at least 2 regions)")
        return 2
    if args.keyagents is None:
        args.keyagents = bool(state.get("keyagents"))
    if not inst.is_installed(layout.venv):
        if args.no_install:
            log(f"error: the devcloud venv {layout.venv} is missing or stale; run "
                "`multisite-devcloud install` first")
            return 1
        inst.install(layout.venv)
    with locked(layout):
        return _up(layout, n, args)


def _up(layout: L.Layout, n: int, args) -> int:
    t0 = time.monotonic()
    state = layout.read_state()
    profile = args.profile or state.get("profile") or "api"
    # several processes write each region's databases at once in the full profile
    db = args.db or state.get("db") or ("mysql" if profile == "full" else "sqlite")
    keystones = args.keystones
    keyagents = args.keyagents
    for key, value in (("db", db), ("profile", profile)):
        if state.get(key, "api" if key == "profile" else None) not in (None, value) \
                and _any_initialised(layout):
            log(f"error: the devcloud in {layout.base} was initialised with --{key} "
                f"{state[key]}; run `multisite-devcloud down --purge` to start over with "
                f"another {key}")
            return 1
    if profile == "full":
        from multisite.devcloud import full_setup

        packages = full_setup.missing_host_tools()
        if packages:
            log(f"error: the full profile needs {', '.join(packages)} on this host: "
                f"apt-get install {' '.join(packages)} (tools/test.sh does under CI=true)")
            return 1
    wanted = S.all_services(layout, n, db, args.threads, profile, keystones, keyagents)
    wanted_names = {s.name for s in wanted}
    running = [s for s in S.known_services(layout) if s.is_running()]
    extra = [s for s in running if s.name not in wanted_names]
    if extra:
        log(f"error: the devcloud is up with {state.get('regions')} regions "
            f"({', '.join(s.name for s in extra)} running); run `multisite-devcloud down` first")
        return 1
    regions = [L.region_name(i) for i in range(1, n + 1)]
    gateway_port = state.get("gateway_port") if args.gateway_port is None else args.gateway_port

    def catalog(ks: Keystone) -> None:
        setup(ks, regions, log=lambda m: log("  " + m), layout=layout,
              full=profile == "full", keystones=keystones,
              gateway_url=gateway_url(gateway_port), top=L.region_name(1))

    to_start = [s for s in wanted if not s.is_running()]
    if not to_start:
        if gateway_port != state.get("gateway_port"):
            layout.write_state({**state, "gateway_port": gateway_port})
            ks = Keystone(layout.keystone_url)
            ks.login()
            catalog(ks)
            log(f"RegionOne's compute/volumev3/network endpoints: "
                f"{gateway_url(gateway_port) or 'its own services'}")
        log(f"devcloud is already up with {n} regions ({', '.join(regions)}), profile "
            f"{profile}, in {layout.base}; nothing to do")
        return 0

    busy = [s for s in to_start if s.port and not S.port_free(s.port)]
    if busy:
        for s in busy:
            where = "" if s.kind == "keystone" else f" ({s.region})"
            log(f"error: port {s.port} for {s.name}{where} is already in use by another "
                "process (check with `ss -ltnp`)")
        other = S.running_base(layout.port_offset)
        if other is not None and other != layout.base:
            log(f"hint: a devcloud from {other} is running; use it (--base {other} or "
                f"MULTISITE_DEVCLOUD_BASE={other}) or stop it: "
                f"multisite-devcloud --base {other} down")
        else:
            log("hint: run a second devcloud with its own --base and --port-offset")
        return 1

    layout.write_state({"db": db, "regions": n, "base": str(layout.base), "profile": profile,
                        "keystones": keystones, "keyagents": keyagents,
                        "port_offset": layout.port_offset, "gateway_port": gateway_port,
                        "vhosts": rabbit.region_vhosts(layout, n)})
    log(f"devcloud up: keystone + {n} regions ({', '.join(regions)}), profile={profile}, "
        f"db={db}, port offset {layout.port_offset}, base={layout.base}")
    deadline = time.monotonic() + args.timeout
    keystone = wanted[0]
    timings: dict[str, float] = {}

    def vhosts() -> None:
        # rabbitmqctl starts an Erlang VM per call (seconds): done while the APIs start, and
        # waited for before the daemons (their RPC) start and before `up` reports success
        t = time.monotonic()
        with ThreadPoolExecutor(max_workers=n) as pool:
            made = list(pool.map(rabbit.ensure_vhost, rabbit.region_vhosts(layout, n)))
        timings["rabbitmq vhosts"] = time.monotonic() - t
        log(f"  rabbitmq vhosts {', '.join(rabbit.region_vhosts(layout, n))} "
            f"({sum(made)} created) in {timings['rabbitmq vhosts']:.1f} s")

    vhost_pool = ThreadPoolExecutor(max_workers=1)
    vhost_future = vhost_pool.submit(vhosts)

    def bring_up(svc: S.Service) -> None:
        did_init = svc.initialise()
        if did_init:
            log(f"  {svc.name:<12} database initialised in {svc.timings['init']:.1f} s")
        if not svc.is_running():
            svc.start()
            svc.wait_ready(deadline)
            where = f"on :{svc.port}" if svc.port else "(running)"
            log(f"  {svc.name:<12} answers {where} after {svc.timings['ready']:.1f} s")
        if svc is keystone:
            catalog_only()

    def catalog_only() -> None:
        t = time.monotonic()
        ks = Keystone(layout.keystone_url)
        ks.login()
        catalog(ks)
        timings["keystone setup"] = time.monotonic() - t

    # first keystone(s) and the APIs (they create the databases), then what shares them:
    # the second keystone (the first one's keys) and the full profile's daemons; then the key
    # agents, beside keystones whose key repositories exist by then
    third = [s for s in to_start if s.kind == "keyagent"]
    second = [s for s in to_start if s not in third and (
        s.port == 0 or (s.kind == "keystone" and s.index >= 2))]
    first = [s for s in to_start if s not in second and s not in third]
    errors: list[BaseException] = []
    for phase, extra_task in ((first, keystone not in to_start), (second, False),
                              (third, False)):
        workers = max(2, min(args.parallel, len(phase) or 1))
        # keystone first in the queue: it is the slowest chain (init, start, catalog)
        order = sorted(phase, key=lambda s: s.kind != "keystone")
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(bring_up, s) for s in order]
            if extra_task:
                futures.append(pool.submit(catalog_only))
            if phase is first:
                futures.append(vhost_future)
            for f in futures:
                try:
                    f.result()
                except BaseException as exc:  # noqa: BLE001 - report them all
                    errors.append(exc)
        if errors:
            break
    vhost_pool.shutdown()
    if not errors and profile == "full":
        from multisite.devcloud import full_setup

        t = time.monotonic()
        try:
            full_setup.finish(layout, n, deadline, log=lambda m: log("  " + m),
                              revive=reviver(wanted, log))
        except (S.DevcloudError, OSError) as exc:
            errors.append(exc)
        timings["full profile checks"] = time.monotonic() - t
    if errors:
        for exc in errors:
            log(f"error: {exc}")
        log("devcloud is only partly up; `multisite-devcloud status` shows what runs, "
            "`multisite-devcloud down` stops it")
        return 1
    write_client_files(layout, regions)
    total = time.monotonic() - t0
    log("")
    log(f"{'service':<18} {'region':<12} {'port':>6} {'init s':>7} {'ready s':>8}")
    for s in wanted:
        init = f"{s.timings['init']:.1f}" if "init" in s.timings else "-"
        ready = f"{s.timings['ready']:.1f}" if "ready" in s.timings else "-"
        log(f"{s.name:<18} {s.region:<12} {s.port or '-':>6} {init:>7} {ready:>8}")
    for k, v in timings.items():
        log(f"{k}: {v:.1f} s")
    log(f"devcloud up in {total:.0f} s: keystone {layout.keystone_url}, "
        f"admin/{L.ADMIN_PASSWORD} (project {L.ADMIN_PROJECT}); demo/{L.DEMO_PASSWORD}")
    log(f"  clouds.yaml: {layout.clouds_yaml} (clouds devcloud-admin, devcloud-demo)")
    log(f"  openrc:      source {layout.openrc}   (or: eval \"$(multisite-devcloud env)\")")
    return 0


def gateway_url(port: int | None) -> str | None:
    """The multisite-gateway's URL in the catalog (None: no gateway, port 0 or unset)."""
    return f"http://{L.HOST}:{port}" if port else None


def _any_initialised(layout: L.Layout) -> bool:
    return any((p.parent / S.INIT_STAMP).exists() for p in layout.base.glob("**/*.conf"))


# -- down ---------------------------------------------------------------------------------------
def cmd_down(args) -> int:
    layout = L.Layout(args.base)
    with locked(layout):
        return _down(layout, args.purge, args.timeout)


def _down(layout: L.Layout, purge: bool, timeout: float) -> int:
    t0 = time.monotonic()
    services = S.known_services(layout)
    running = [s for s in services if s.is_running()]
    # signal all first, then wait: each gunicorn needs ~3 s (--graceful-timeout 3)
    pids = {s.name: s.processes() for s in running}
    for s in running:
        s.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for ps in pids.values() for p in ps):
        time.sleep(0.2)
    killed = []
    for s in running:
        left = [p for p in pids[s.name] if _alive(p)]
        if left:
            killed.append(s.name)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pids[s.name][0], signal.SIGKILL)
            for p in left:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(p, signal.SIGKILL)
    for s in services:
        s.pid_file.unlink(missing_ok=True)
    if running:
        msg = f"devcloud stopped: {len(running)} services in {time.monotonic() - t0:.1f} s"
        if killed:
            msg += f" ({', '.join(killed)} needed SIGKILL)"
        log(msg)
    else:
        log("devcloud is not running")
    from multisite.devcloud.daemons import unmount_all

    unmount_all(layout, L.MAX_REGIONS)
    try:
        gone = rabbit.delete_devcloud_vhosts(layout)
        if gone:
            log(f"rabbitmq vhosts removed: {', '.join(gone)}")
    except rabbit.RabbitError as exc:
        log(f"warning: could not remove the rabbitmq vhosts: {exc}")
    if purge:
        for s in services:
            s.drop_data()
        for p in (layout.state_file, layout.clouds_yaml, layout.openrc, layout.openrc_demo):
            p.unlink(missing_ok=True)
        for d in [*layout.base.glob("r[0-9]*"), *layout.base.glob("keystone*"),
                  *layout.base.glob("keyagent*"), layout.base / "pki",
                  layout.base / "multisite-lib",
                  layout.base / "backups", layout.base / "bin", layout.log_dir]:
            shutil.rmtree(d, ignore_errors=True)
        log(f"devcloud data purged from {layout.base} (the venv is kept)")
    return 0


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# -- status -------------------------------------------------------------------------------------
def cmd_status(args) -> int:
    from multisite.devcloud import status

    return status.report(L.Layout(args.base), log)


# -- env / install ------------------------------------------------------------------------------
def cmd_env(args) -> int:
    layout = L.Layout(args.base)
    regions = [L.region_name(i) for i in range(1, int(layout.read_state().get("regions", 1)) + 1)]
    region = args.region or regions[0]
    if args.cloud:
        cloud = "devcloud-demo" if args.demo else "devcloud-admin"
        print(f"export OS_CLIENT_CONFIG_FILE={shlex.quote(str(layout.clouds_yaml))}")
        print(f"export OS_CLOUD={cloud}")
        print(f"export OS_REGION_NAME={region}")
    elif args.demo:
        print(openrc_text(L.DEMO_USER, L.DEMO_PASSWORD, L.DEMO_PROJECT, region,
                          layout.keystone_url), end="")
    else:
        print(openrc_text(L.ADMIN_USER, L.ADMIN_PASSWORD, L.ADMIN_PROJECT, region,
                          layout.keystone_url), end="")
    return 0


def cmd_multisite_conf(args) -> int:
    from multisite.devcloud import multisite_conf

    layout = L.Layout(args.base)
    state = (args.state or layout.base / "multisite").resolve()
    state.mkdir(parents=True, exist_ok=True)
    recorded = layout.read_state()
    n = int(recorded.get("regions", 0))
    urls = {L.region_name(i): layout.transport_url(i) for i in range(1, n + 1)}
    text = multisite_conf.render(state, transport_url=args.transport_url,
                                 periodic_interval=args.periodic_interval,
                                 keystone_url=layout.keystone_url, notification_urls=urls)
    if recorded.get("keyagents"):
        from multisite.devcloud import keyagents

        # Multisite manages the Keystones' keys through their agents (docs/identity.md)
        text += keyagents.identity_section(layout, int(recorded.get("keystones", 1)))
    if args.output:
        Path(args.output).write_text(text)
        log(f"wrote {args.output}")
    else:
        print(text, end="")
    return 0


def cmd_install(args) -> int:
    layout = L.Layout(args.base)
    with locked(layout):
        inst.install(layout.venv, force=args.force)
    return 0


def build_parser() -> argparse.ArgumentParser:
    base_help = "state directory (default: $MULTISITE_DEVCLOUD_BASE or <repo>/.devcloud)"
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's --base must not reset one given before the subcommand
    common.add_argument("--base", type=Path, default=argparse.SUPPRESS, help=base_help)

    p = argparse.ArgumentParser(
        prog="multisite-devcloud",
        description="A real multi-region OpenStack (Keystone + nova/cinder/neutron/glance APIs "
        "per region) on 127.0.0.1, for Multisite's integration tests.",
        parents=[common],
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sp = sub.add_parser("install", parents=[common], help="build the cached service venv",
                        description="Create $BASE/venv with the pinned OpenStack services "
                        "(a no-op when it is already up to date).")
    sp.add_argument("--force", action="store_true", help="reinstall even if up to date")
    sp.set_defaults(func=cmd_install)

    sp = sub.add_parser("up", parents=[common], help="start keystone and N regions",
                        description="Start keystone and N regions (idempotent; reuses the "
                        "databases of an earlier run).")
    sp.add_argument("--regions", type=int, default=None,
                    help="number of regions, 1-6 (default $MULTISITE_DEVCLOUD_REGIONS, else "
                    "as recorded by the last `up`, else 3)")
    sp.add_argument("--db", choices=["sqlite", "mysql"], default=None,
                    help="sqlite (default for --profile api) or the local MariaDB on "
                    "127.0.0.1:3306 as root (default for --profile full)")
    sp.add_argument("--profile", choices=L.PROFILES, default=None,
                    help="api (default: the API servers only) or full (placement, conductor, "
                    "scheduler, compute with FakeDriver, cinder volume/backup, an L2 agent "
                    "stand-in; RPC on each region's RabbitMQ vhost)")
    sp.add_argument("--keystones", type=int, default=None,
                    help="2: a second keystone (RegionTwo's) on the same database, with its "
                    "own Fernet key repository (needs --db mysql; default: as before, or 1)")
    sp.add_argument("--keyagents", action=argparse.BooleanOptionalAction, default=None,
                    help="run a multisite-keyagent beside each keystone (mutual TLS with a "
                    "test CA in $BASE/pki), so that Multisite manages their Fernet keys "
                    "(default: as before, or off)")
    sp.add_argument("--port-offset", type=int, default=None,
                    help="shift every port (keystone included) by this much, to run a second "
                    f"devcloud next to one on the default ports (default ${L.PORT_OFFSET_ENV} "
                    "or 0; fixed at the first `up`)")
    sp.add_argument("--gateway-port", type=int, default=None, metavar="PORT",
                    help="register the multisite-gateway on 127.0.0.1:PORT as RegionOne's "
                    "compute, volumev3 and network endpoints (RegionOne becomes the top "
                    "region of the big region; the other regions are pods; 0 restores "
                    "RegionOne's own services; default: as before, or 0). The gateway "
                    "itself is not started: run multisite-gateway (or the all-in-one)")
    sp.add_argument("--threads", type=int, default=1,
                    help="gunicorn threads per region service (default 1; SQLite needs 1)")
    sp.add_argument("--timeout", type=float, default=600,
                    help="seconds to wait for everything to answer (default 600)")
    sp.add_argument("--parallel", type=int, default=4,
                    help="services initialised/started at once (default 4)")
    sp.add_argument("--no-install", action="store_true",
                    help="fail instead of running `install` when the venv is missing")
    sp.set_defaults(func=cmd_up)

    sp = sub.add_parser("down", parents=[common], help="stop what `up` started",
                        description="Stop the processes `up` started (from their PID files).")
    sp.add_argument("--purge", action="store_true",
                    help="also delete the databases and configs (not the venv)")
    sp.add_argument("--timeout", type=float, default=20,
                    help="seconds to wait before SIGKILL (default 20)")
    sp.set_defaults(func=cmd_down)

    sp = sub.add_parser("status", parents=[common], help="what runs: service, port, pid, memory",
                        description="Show each service with region, port, pid and RSS memory. "
                        "Exit status 0 when everything answers.")
    sp.set_defaults(func=cmd_status)

    sp = sub.add_parser("env", parents=[common], help="print openrc exports",
                        description="Print shell exports for the admin (default) or demo user; "
                        "use: eval \"$(multisite-devcloud env)\".")
    sp.add_argument("--demo", action="store_true", help="the demo user/project")
    sp.add_argument("--cloud", action="store_true",
                    help="print OS_CLIENT_CONFIG_FILE/OS_CLOUD (clouds.yaml) instead")
    sp.add_argument("--region", help="OS_REGION_NAME (default RegionOne)")
    sp.set_defaults(func=cmd_env)

    sp = sub.add_parser("multisite-conf", parents=[common],
                        help="print a multisite.conf that uses this devcloud",
                        description="A config for multisite-api/-engine/-all-in-one: Keystone "
                        "auth against the devcloud, the admin account as [cache] service "
                        "credentials, SQLite state under $BASE/multisite.")
    sp.add_argument("--output", "-o", help="write to this file instead of stdout")
    sp.add_argument("--state", type=Path, help="state directory (default $BASE/multisite)")
    sp.add_argument("--transport-url", default="fake://",
                    help="oslo.messaging URL (default fake://, for the all-in-one)")
    sp.add_argument("--periodic-interval", type=int, default=60,
                    help="seconds between periodic rebalances (default 60)")
    sp.set_defaults(func=cmd_multisite_conf)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "base", None) is None:
        args.base = L.default_base()
    try:
        return args.func(args)
    except S.DevcloudError as exc:
        log(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
