"""Region capacity: read a region's compute, storage, network and image figures and keep
them; a failed read keeps the last figures and records the error and its time."""

import logging

from multisite import reconcilers
from multisite.objects import regions

LOG = logging.getLogger(__name__)

KIND = "region_capacity"
KINDS = ("compute", "volume", "network", "image")


def reconcile(key, env):
    conf, prober = env.conf, env.shared
    region = key.id
    try:
        services = prober.endpoints().get(region)
    except Exception as exc:
        raise reconcilers.TemporaryError(f"catalog unreadable: {exc}") from exc
    if not services or "identity" not in services:
        return reconcilers.Outcome.done()   # region_health forgets it
    now = regions.utcnow()
    failed = []
    for kind, (figures, error) in sorted(prober.read_capacity(region, services).items()):
        regions.save_capacity(conf, region, kind, figures=figures, error=error, now=now)
        if error is not None:
            failed.append(kind)
            LOG.info("Capacity read failed: region=%s kind=%s error=%s", region, kind, error)
    return reconcilers.Outcome.done(result=not failed)


def keys(prober):
    return [reconcilers.Key(KIND, name, name) for name in sorted(prober.endpoints())]

