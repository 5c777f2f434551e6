"""multisite-keyagent: serve this node's Keystone key repositories to Multisite over mutual TLS."""

from __future__ import annotations

import grp
import os
import pwd
import signal
import sys
import threading

from oslo_config import cfg
from oslo_log import log as logging

from multisite.conf import keyagent as keyagent_conf
from multisite.keyagent import server

LOG = logging.getLogger(__name__)


def resolve_owner(owner: str | None, group: str | None) -> tuple[int, int] | None:
    """(uid, gid) for the configured owner/group names or ids; None keeps the agent's own."""
    if not owner and not group:
        return None
    if owner:
        entry = pwd.getpwuid(int(owner)) if owner.isdigit() else pwd.getpwnam(owner)
        uid, gid = entry.pw_uid, entry.pw_gid
    else:
        uid, gid = os.getuid(), os.getgid()
    if group:
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    return uid, gid


def build_server(conf) -> server.AgentServer:
    opts = conf.keyagent
    missing = [name for name in ("cert_file", "key_file", "ca_file") if not opts[name]]
    if missing:
        raise ValueError("[keyagent] " + ", ".join(missing) + " must be set: the agent only "
                         "speaks mutual TLS")
    repositories = {"fernet": opts.fernet_repository}
    if opts.credential_repository:
        repositories["credential"] = opts.credential_repository
    context = server.server_context(cert_file=opts.cert_file, key_file=opts.key_file,
                                    ca_file=opts.ca_file)
    return server.AgentServer((opts.bind_host, opts.bind_port), context=context,
                              repositories=repositories, max_body=opts.max_body,
                              owner=resolve_owner(opts.owner, opts.group),
                              migrate_command=opts.credential_migrate_command,
                              migrate_timeout=opts.credential_migrate_timeout)


def main(argv=None):
    conf = cfg.ConfigOpts()
    logging.register_options(conf)
    keyagent_conf.register_opts(conf)
    conf(sys.argv[1:] if argv is None else argv, project="multisite",
         prog="multisite-keyagent", description="Multisite key agent.")
    logging.setup(conf, "multisite-keyagent")
    try:
        agent = build_server(conf)
    except (ValueError, OSError, KeyError) as exc:
        sys.exit(f"multisite-keyagent: {exc}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=agent.serve_forever, name="keyagent", daemon=True)
    thread.start()
    LOG.info("Key agent listening: host=%s port=%d repositories=%s",
             conf.keyagent.bind_host, agent.server_address[1], sorted(agent.repositories))
    stop.wait()
    agent.shutdown()
    agent.server_close()
