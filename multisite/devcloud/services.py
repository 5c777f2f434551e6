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

from multisite.devcloud import layout as L
from multisite.devcloud.keystone_setup import SERVICE_PASSWORDS

WSGI_DIR = Path(__file__).with_name("wsgi")
INIT_STAMP = ".initialised"


class DevcloudError(RuntimeError):
    pass


@dataclass
class Service:
    kind: str  # keystone | nova | cinder | neutron | glance
    index: int  # region number (1-based); 0 for keystone
    layout: L.Layout
    db: str = "sqlite"
    threads: int = 1
    timings: dict = field(default_factory=dict)

    # -- names and places -------------------------------------------------------------------
    @property
    def name(self) -> str:
        return "keystone" if self.kind == "keystone" else f"r{self.index}-{self.kind}"

    @property
    def region(self) -> str:
        return "(all)" if self.kind == "keystone" else L.region_name(self.index)

    @property
    def port(self) -> int:
        return L.port(self.kind, self.index)

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
            return f"{L.MYSQL_PREFIX}keystone"
        return f"{L.MYSQL_PREFIX}r{self.index}_{what}"

    @property
    def databases(self) -> list[str]:
        return {
            "keystone": ["keystone"],
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
        if f"[devcloud-{self.name}]".encode() not in cmdline and (
            f"{L.HOST}:{self.port}".encode() not in cmdline.split(b"\0")
        ):
            return None  # the pid was reused by something else
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    # -- config -----------------------------------------------------------------------------
    def authtoken(self) -> str:
        return f"""
[keystone_authtoken]
www_authenticate_uri = {L.KEYSTONE_URL}
auth_url = {L.KEYSTONE_URL}
auth_type = password
username = {self.kind}
password = {SERVICE_PASSWORDS[self.kind]}
project_name = service
user_domain_name = {L.DOMAIN}
project_domain_name = {L.DOMAIN}
region_name = {self.region}
"""

    def write_config(self) -> None:
        d = self.dir
        d.mkdir(parents=True, exist_ok=True)
        etc = self.layout.venv / "etc"
        if self.kind == "keystone":
            (d / "keystone.conf").write_text(
                f"""[DEFAULT]
debug = false

[database]
connection = {self.db_url('keystone')}

[token]
provider = fernet

[fernet_tokens]
key_repository = {d / 'fernet-keys'}

[credential]
key_repository = {d / 'credential-keys'}

[cache]
# one worker: the in-process cache stays consistent, and it avoids ~300 SQL queries/token
enabled = true
backend = dogpile.cache.memory
"""
            )
        elif self.kind == "nova":
            shutil.copy(etc / "nova" / "api-paste.ini", d / "api-paste.ini")
            (d / "nova.conf").write_text(
                f"""[DEFAULT]
transport_url = fake://
host = r{self.index}-nova-api
state_path = {d}
debug = false

[api]
auth_strategy = keystone

[wsgi]
api_paste_config = {d / 'api-paste.ini'}

[api_database]
connection = {self.db_url('nova_api')}

[database]
connection = {self.db_url('nova')}

[keystone]
region_name = {self.region}

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = {d / 'lock'}
{self.authtoken()}"""
            )
        elif self.kind == "cinder":
            shutil.copy(etc / "cinder" / "api-paste.ini", d / "api-paste.ini")
            shutil.copy(etc / "cinder" / "resource_filters.json", d / "resource_filters.json")
            (d / "cinder.conf").write_text(
                f"""[DEFAULT]
transport_url = fake://
auth_strategy = keystone
api_paste_config = {d / 'api-paste.ini'}
resource_query_filters_file = {d / 'resource_filters.json'}
state_path = {d}
host = r{self.index}-cinder-api
debug = false

[database]
connection = {self.db_url('cinder')}

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = {d / 'lock'}
{self.authtoken()}"""
            )
        elif self.kind == "neutron":
            shutil.copy(etc / "neutron" / "api-paste.ini", d / "api-paste.ini")
            (d / "neutron.conf").write_text(
                f"""[DEFAULT]
core_plugin = ml2
service_plugins = router
transport_url = fake://
auth_strategy = keystone
api_paste_config = {d / 'api-paste.ini'}
state_path = {d}
host = r{self.index}-neutron-server
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
debug = false

[database]
connection = {self.db_url('neutron')}

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = {d / 'lock'}
{self.authtoken()}"""
            )
            (d / "ml2_conf.ini").write_text(
                """[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch
extension_drivers = port_security

[ml2_type_flat]
flat_networks = *

[ml2_type_vxlan]
vni_ranges = 1:10000
"""
            )
        elif self.kind == "glance":
            shutil.copy(etc / "glance" / "glance-api-paste.ini", d / "glance-api-paste.ini")
            for sub in ("images", "staging", "tasks"):
                (d / sub).mkdir(exist_ok=True)
            (d / "glance-api.conf").write_text(
                f"""[DEFAULT]
enabled_backends = fs:file
worker_self_reference_url = http://{L.HOST}:{self.port}
transport_url = fake://
debug = false

[database]
connection = {self.db_url('glance')}

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = {d / 'images'}

[os_glance_staging_store]
filesystem_store_datadir = {d / 'staging'}

[os_glance_tasks_store]
filesystem_store_datadir = {d / 'tasks'}

[oslo_messaging_notifications]
driver = noop

[oslo_concurrency]
lock_path = {d / 'lock'}

[paste_deploy]
flavor = keystone
config_file = {d / 'glance-api-paste.ini'}
{self.authtoken()}"""
            )

    @property
    def conf_files(self) -> list[Path]:
        d = self.dir
        return {
            "keystone": [d / "keystone.conf"],
            "nova": [d / "nova.conf"],
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
        if self.kind == "keystone":
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
                "--bootstrap-admin-url", L.KEYSTONE_URL + "/",
                "--bootstrap-internal-url", L.KEYSTONE_URL + "/",
                "--bootstrap-public-url", L.KEYSTONE_URL + "/",
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
        elif self.kind == "cinder":
            env["CINDER_CONF"] = str(d / "cinder.conf")
        elif self.kind == "neutron":
            env["OS_NEUTRON_CONFIG_DIR"] = str(d)
            env["OS_NEUTRON_CONFIG_FILES"] = "neutron.conf;ml2_conf.ini"
        elif self.kind == "glance":
            env["OS_GLANCE_CONFIG_DIR"] = str(d)
        return env

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
            "--name", f"devcloud-{self.name}",
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


def running_base() -> Path | None:
    """The state directory of a devcloud whose keystone runs on this machine (any --base)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            if b"[devcloud-keystone]" not in cmdline:
                continue
            return Path(os.readlink(entry / "cwd")).parent  # cwd is $BASE/keystone
        except OSError:
            continue
    return None


def all_services(layout: L.Layout, regions: int, db: str = "sqlite", threads: int = 1):
    out = [Service("keystone", 0, layout, db, threads)]
    for i in range(1, regions + 1):
        for kind in L.REGION_SERVICES:
            out.append(Service(kind, i, layout, db, threads))
    return out


def known_services(layout: L.Layout) -> list[Service]:
    """Every service that has a pid file, plus those of the recorded regions."""
    state = layout.read_state()
    regions = int(state.get("regions", 0))
    db = state.get("db", "sqlite")
    found = {s.name: s for s in all_services(layout, regions, db)}
    if layout.run_dir.is_dir():
        for pidfile in layout.run_dir.glob("*.pid"):
            name = pidfile.stem
            if name in found:
                continue
            if name.startswith("r") and "-" in name:
                idx, kind = name[1:].split("-", 1)
                if idx.isdigit() and kind in L.REGION_SERVICES and 1 <= int(idx) <= L.MAX_REGIONS:
                    found[name] = Service(kind, int(idx), layout, db)
    return list(found.values())


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use multisite-devcloud")
