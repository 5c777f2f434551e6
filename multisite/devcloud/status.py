"""``status``: the devcloud's processes, their memory, and its RabbitMQ vhosts."""

from __future__ import annotations

from multisite.devcloud import layout as L
from multisite.devcloud import rabbit
from multisite.devcloud import services as S


def report(layout: L.Layout, log=print) -> int:
    """Print each process with its RSS, and the vhosts; 0: all up, 1: not all, 3: never started."""
    state = layout.read_state()
    services = S.known_services(layout)
    if not state and not any(s.pid_file.exists() for s in services):
        log(f"devcloud in {layout.base}: never started")
        return 3
    log(f"devcloud in {layout.base}: db={state.get('db', '?')} regions={state.get('regions', '?')}"
        f" profile={state.get('profile', 'api')} port offset={layout.port_offset}")
    log(f"{'service':<18} {'region':<12} {'port':>6} {'pid':>8} {'rss MB':>8}  state")
    total = 0
    per_region: dict[str, int] = {}
    up = 0
    for s in services:
        pid = s.pid()
        port = s.port or "-"
        if pid is None:
            log(f"{s.name:<18} {s.region:<12} {port:>6} {'-':>8} {'-':>8}  stopped")
            continue
        mem = s.rss_bytes()
        total += mem
        per_region[s.region] = per_region.get(s.region, 0) + mem
        # a daemon has no port: running is what can be seen from here (`up` checks the
        # region's own service lists)
        answers = s.answers(timeout=3)
        up += answers
        log(f"{s.name:<18} {s.region:<12} {port:>6} {pid:>8} {mem / 2**20:>8.0f}  "
            + (("up" if s.port else "running") if answers else "running, not answering"))
    for region, mem in per_region.items():
        log(f"memory {region}: {mem / 2**20:.0f} MB")
    log(f"memory total: {total / 2**20:.0f} MB; {up}/{len(services)} services up")
    try:
        present = set(rabbit.vhosts())
        for v in state.get("vhosts", []):
            log(f"rabbitmq vhost {v}: {'present' if v in present else 'MISSING'}")
    except rabbit.RabbitError as exc:
        log(f"rabbitmq: {exc}")
    return 0 if up == len(services) else 1
