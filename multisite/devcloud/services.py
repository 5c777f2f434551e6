"""Config files, database initialisation and the gunicorn processes of each service."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from multisite.devcloud import configs
from multisite.devcloud import layout as L

WSGI_DIR = Path(__file__).with_name("wsgi")
INIT_STAMP = ".initialised"


class DevcloudError(RuntimeError):
    pass


@dataclass
class Service:
    kind: str  # keystone | nova | cinder | neutron | glance | placement
    index: int  # region number (1-based); 0 for keystone, 2 for the second keystone
    layout: L.Layout
    db: str = "sqlite"
    threads: int = 1
    timings: dict = field(default_factory=dict)
    profile: str = "api"  # api | full
    keystones: int = 1  # with 2, RegionTwo's services use the second keystone

    # -- names and places -------------------------------------------------------------------
    @property
    def full(self) -> bool:
        return self.profile == "full"

    @property
    def name(self) -> str:
        if self.kind == "keystone":
            return "keystone" if self.index < 2 else f"keystone{self.index}"
        return f"r{self.index}-{self.kind}"

    @property
    def title(self) -> str:
        """gunicorn's process name: ``devcloud-r1-nova`` (``devcloud100-r1-nova`` if shifted)."""
        return f"{self.layout.tag}-{self.name}"

    @property
    def region(self) -> str:
        if self.kind == "keystone":
            return "(all)" if self.index < 2 else L.region_name(self.index)
        return L.region_name(self.index)

    @property
    def port(self) -> int:
        return self.layout.port(self.kind, self.index)

    @property
    def auth_url(self) -> str:
        """The keystone this service's region uses (its own one with ``--keystones``)."""
        own = self.index if 2 <= self.index <= self.keystones else 1
        return L.keystone_url(self.layout.port_offset, own)

    @property
    def compute_host(self) -> str:
        return f"r{self.index}-compute"

    @property
    def nfs_share(self) -> str:
        """The "NFS export" of the region's cinder-volume: a local directory bind-mounted."""
        return f"127.0.0.1:{self.layout.base / f'r{self.index}' / 'nfs-export'}"

    @property
    def nfs_mount_base(self) -> Path:
        return self.layout.base / f"r{self.index}" / "cinder" / "mnt"

    @property
    def dir(self) -> Path:
        return self.layout.service_dir(self.kind, self.index)

    @property
    def pid_file(self) -> Path:
        return self.layout.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.layout.log_dir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{L.HOST}:{self.port}/"

    def db_url(self, what: str) -> str:
        """``what`` is a database name inside this service (e.g. ``nova_api``)."""
        if self.db == "mysql":
            return L.MYSQL_URL.format(db=self.mysql_name(what))
        return f"sqlite:///{self.dir / (what + '.db')}"

    def mysql_name(self, what: str) -> str:
        if self.kind == "keystone":
            return f"{self.layout.mysql_prefix}keystone"
        return f"{self.layout.mysql_prefix}r{self.index}_{what}"

    @property
    def databases(self) -> list[str]:
        return {
            # a second keystone shares the first one's database
            "keystone": ["keystone"] if self.index < 2 else [],
            "placement": ["placement"],
            "nova": ["nova_api", "nova_cell0", "nova"],
            "cinder": ["cinder"],
            "neutron": ["neutron"],
            "glance": ["glance"],
        }[self.kind]

    # -- process state ----------------------------------------------------------------------
    def pid(self) -> int | None:
        """The gunicorn master's pid if it is running and really is ours."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return None
        # setproctitle turns the master's cmdline into "gunicorn: master [devcloud-r1-nova]"
        if f"[{self.title}]".encode() not in cmdline and (
            f"{L.HOST}:{self.port}".encode() not in cmdline.split(b"\0")
        ):
            return None  # the pid was reused by something else
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def answers(self, timeout: float = 5.0) -> bool:
        """Its API answers HTTP (a daemon without a port: always)."""
        return http_answers(self.url, timeout=timeout) if self.port else True

    # -- config -----------------------------------------------------------------------------
    def write_config(self) -> None:
        configs.write(self)

    @property
    def conf_files(self) -> list[Path]:
        d = self.dir
        return {
            "keystone": [d / "keystone.conf"],
            "nova": [d / "nova.conf"],
            "placement": [d / "placement.conf"],
            "cinder": [d / "cinder.conf"],
            "neutron": [d / "neutron.conf", d / "ml2_conf.ini"],
            "glance": [d / "glance-api.conf"],
        }[self.kind]

    # -- database initialisation ------------------------------------------------------------
    def is_initialised(self) -> bool:
        stamp = self.dir / INIT_STAMP
        return stamp.is_file() and stamp.read_text().strip() == self.db

    def _run(self, *argv: str) -> None:
        cmd = [str(a) for a in argv]
        with open(self.log_file, "ab") as log:
            log.write(("\n$ " + " ".join(cmd) + "\n").encode())
            log.flush()
            proc = subprocess.run(
                cmd,
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_child_env(),
            )
        if proc.returncode != 0:
            raise DevcloudError(
                f"{self.name}: `{' '.join(cmd)}` failed (exit {proc.returncode}); "
                f"see {self.log_file}:\n{tail(self.log_file)}"
            )

    def _recreate_mysql(self) -> None:
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
        try:
            with conn.cursor() as cur:
                for what in self.databases:
                    name = self.mysql_name(what)
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                    cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8")
        finally:
            conn.close()

    def drop_data(self) -> None:
        if self.db == "mysql":
            import pymysql

            conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
            try:
                with conn.cursor() as cur:
                    for what in self.databases:
                        cur.execute(f"DROP DATABASE IF EXISTS `{self.mysql_name(what)}`")
            finally:
                conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _copy_keys(self) -> None:
        """A second keystone: its own key repositories, holding a copy of the first one's keys.

        That is how Fernet keys are distributed (rotate on one node, copy to the others); the
        copies are separate directories, so a rotation on one is not seen by the other.
        """
        first = self.layout.service_dir("keystone", 0)
        for repo in ("fernet-keys", "credential-keys"):
            if not (first / repo / "0").exists():
                raise DevcloudError(f"{self.name}: {first / repo} has no keys yet")
            shutil.rmtree(self.dir / repo, ignore_errors=True)
            shutil.copytree(first / repo, self.dir / repo)
            os.chmod(self.dir / repo, 0o700)

    def initialise(self) -> bool:
        """Write the config and create the schema unless done before; True if work was done."""
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        if self.is_initialised():
            return False
        t0 = time.monotonic()
        if self.db == "mysql":
            self._recreate_mysql()
        else:
            for what in self.databases:
                (self.dir / f"{what}.db").unlink(missing_ok=True)
        bin_ = self.layout.bin
        conf = self.conf_files[0]
        if self.kind == "keystone" and self.index >= 2:
            self._copy_keys()
        elif self.kind == "keystone":
            user = pwd.getpwuid(os.getuid()).pw_name
            group = grp.getgrgid(os.getgid()).gr_name
            km = [bin_("keystone-manage"), "--config-file", conf]
            self._run(*km, "db_sync")
            self._run(*km, "fernet_setup", "--keystone-user", user, "--keystone-group", group)
            self._run(*km, "credential_setup", "--keystone-user", user, "--keystone-group", group)
            self._run(
                *km,
                "bootstrap",
                "--bootstrap-username", L.ADMIN_USER,
                "--bootstrap-password", L.ADMIN_PASSWORD,
                "--bootstrap-project-name", L.ADMIN_PROJECT,
                "--bootstrap-role-name", "admin",
                "--bootstrap-service-name", "keystone",
                "--bootstrap-region-id", L.REGION_NAMES[0],
                "--bootstrap-admin-url", self.layout.keystone_url + "/",
                "--bootstrap-internal-url", self.layout.keystone_url + "/",
                "--bootstrap-public-url", self.layout.keystone_url + "/",
            )  # fmt: skip
        elif self.kind == "nova":
            nm = [bin_("nova-manage"), "--config-file", conf]
            self._run(*nm, "api_db", "sync")
            self._run(
                *nm, "cell_v2", "map_cell0", "--database_connection", self.db_url("nova_cell0")
            )
            self._run(*nm, "db", "sync")
            self._run(*nm, "cell_v2", "create_cell", "--name", "cell1")
        elif self.kind == "cinder":
            self._run(bin_("cinder-manage"), "--config-file", conf, "db", "sync")
        elif self.kind == "neutron":
            dbm = [bin_("neutron-db-manage")]
            for f in self.conf_files:
                dbm += ["--config-file", str(f)]
            if self.db == "mysql":
                self._run(*dbm, "upgrade", "heads")
            else:
                # alembic can't ALTER constraints on SQLite: build from the models, then stamp
                self._run(bin_("python"), "-c", NEUTRON_SQLITE_INIT, self.db_url("neutron"))
                self._run(*dbm, "stamp", "heads")
        elif self.kind == "glance":
            self._run(bin_("glance-manage"), "--config-file", conf, "db_sync")
        elif self.kind == "placement":
            self._run(bin_("placement-manage"), "--config-file", conf, "db", "sync")
        (self.dir / INIT_STAMP).write_text(self.db + "\n")
        self.timings["init"] = time.monotonic() - t0
        return True

    # -- processes ----------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        env = _child_env()
        d = self.dir
        if self.kind == "keystone":
            env["OS_KEYSTONE_CONFIG_FILES"] = str(d / "keystone.conf")
        elif self.kind == "nova":
            env["OS_NOVA_CONFIG_DIR"] = str(d)
        elif self.kind == "placement":
            env["OS_PLACEMENT_CONFIG_DIR"] = str(d)
        elif self.kind == "cinder":
            env["CINDER_CONF"] = str(d / "cinder.conf")
        elif self.kind == "neutron":
            env["OS_NEUTRON_CONFIG_DIR"] = str(d)
            env["OS_NEUTRON_CONFIG_FILES"] = "neutron.conf;ml2_conf.ini"
        elif self.kind == "glance":
            env["OS_GLANCE_CONFIG_DIR"] = str(d)
        from multisite.devcloud import keyagents

        if keyagents.uses_failover(self):
            # the `multisite_failover` auth plugin of [keystone_authtoken]
            env["PYTHONPATH"] = str(keyagents.ensure_lib(self.layout))
        return env

    @property
    def access_log(self) -> Path:
        """gunicorn's access log (Keystones only: which one validated what)."""
        return self.layout.log_dir / f"{self.name}-access.log"

    def command(self) -> list[str]:
        threads = 4 if self.kind == "keystone" else self.threads
        return [
            self.layout.bin("gunicorn"),
            "-w", "1",
            "--threads", str(threads),
            "--no-control-socket",
            "--graceful-timeout", "3",
            "--timeout", "300",
            "-b", f"{L.HOST}:{self.port}",
            "--pythonpath", str(WSGI_DIR),
            "--chdir", str(self.dir),
            "--name", self.title,
            *(["--access-logfile", str(self.access_log)] if self.kind == "keystone" else []),
            f"{self.kind}_app:application",
        ]  # fmt: skip

    def start(self) -> int:
        self.layout.run_dir.mkdir(parents=True, exist_ok=True)
        self.layout.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            log.write(f"\n==== start {time.ctime()}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                self.command(),
                cwd=self.dir,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: ``down`` kills master + worker
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        self._proc = proc
        self._started = time.monotonic()
        return proc.pid

    def wait_ready(self, deadline: float) -> float:
        """Poll until the API answers HTTP; return the seconds since start."""
        started = getattr(self, "_started", time.monotonic())
        proc = getattr(self, "_proc", None)
        while True:
            # (not is_running(): the master's cmdline is briefly empty while setproctitle runs)
            if proc.poll() is not None if proc is not None else not self.is_running():
                raise DevcloudError(
                    f"{self.name} ({self.region}, port {self.port}) exited; "
                    f"see {self.log_file}:\n{tail(self.log_file)}"
                )
            if http_answers(self.url):
                took = time.monotonic() - started
                self.timings["ready"] = took
                return took
            if time.monotonic() > deadline:
                raise DevcloudError(
                    f"{self.name} ({self.region}) did not answer on {self.url} in time; "
                    f"see {self.log_file}:\n{tail(self.log_file)}"
                )
            time.sleep(0.5)

    def signal(self, sig: int) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return False
        except PermissionError:
            os.kill(pid, sig)
        return True

    def processes(self) -> list[int]:
        """The master and its children (the worker)."""
        pid = self.pid()
        if pid is None:
            return []
        return [pid, *children(pid)]

    def rss_bytes(self) -> int:
        return sum(rss(p) for p in self.processes())


NEUTRON_SQLITE_INIT = """
import sys
import sqlalchemy as sa
from neutron.db.migration.models import head
engine = sa.create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
print('neutron schema:', len(head.get_metadata().tables), 'tables')
"""


def _child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OS_", "PYTHON", "VIRTUAL_ENV")) and k != "CINDER_CONF"
    }
    env["PYTHONWARNINGS"] = "ignore"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def http_answers(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # 300/401/...: it answers
    except (OSError, ValueError):
        return False


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # like gunicorn: connections in TIME_WAIT from a previous run do not block the port
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((L.HOST, port))
        except OSError:
            return False
    return True


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            child = int(entry.name)
            out.append(child)
            out.extend(children(child))
    return out


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def running_base(port_offset: int = 0) -> Path | None:
    """The state directory of the devcloud with this port offset running here (any --base).

    Its keystone's process name carries the offset (``devcloud-keystone`` for the default
    ports, ``devcloud100-keystone`` for ``--port-offset 100``), so two devclouds never mix.
    """
    title = f"[{L.Layout(Path('/'), port_offset).tag}-keystone]".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if title not in cmdline:
                continue
            return Path(os.readlink(entry / "cwd")).parent  # cwd is $BASE/keystone
        except OSError:
            continue
    return None


def all_services(layout: L.Layout, regions: int, db: str = "sqlite", threads: int = 1,
                 profile: str = "api", keystones: int = 1,
                 keyagents: bool = False) -> list[Service]:
    """Keystone(s), then per region the APIs (+ placement and the daemons when ``full``), then
    the key agents beside the Keystones (``keyagents``)."""
    from multisite.devcloud import keyagents as K
    from multisite.devcloud.daemons import region_daemons

    def make(kind: str, index: int) -> Service:
        return Service(kind, index, layout, db, threads, profile=profile, keystones=keystones)

    out = [make("keystone", k) for k in [0, *range(2, keystones + 1)]]
    kinds = [*L.REGION_SERVICES, "placement"] if profile == "full" else L.REGION_SERVICES
    for i in range(1, regions + 1):
        out += [make(kind, i) for kind in kinds]
        if profile == "full":
            out += region_daemons(layout, i, db, keystones)
    if keyagents:
        out += K.agents(layout, db, keystones)
    return out


def known_services(layout: L.Layout) -> list[Service]:
    """Every service of the recorded state, plus any other that has a pid file."""
    state = layout.read_state()
    regions = int(state.get("regions", 0))
    db = state.get("db", "sqlite")
    profile = state.get("profile", "api")
    found = {s.name: s for s in all_services(layout, regions, db, profile=profile,
                                             keystones=int(state.get("keystones", 1)),
                                             keyagents=bool(state.get("keyagents")))}
    if layout.run_dir.is_dir():
        biggest = all_services(layout, L.MAX_REGIONS, db, profile="full", keystones=2,
                               keyagents=True)
        for s in biggest:
            if s.name not in found and s.pid_file.exists():
                found[s.name] = s
    return list(found.values())


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use multisite-devcloud")
