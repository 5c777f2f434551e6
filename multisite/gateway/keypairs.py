"""Keypairs of the big region: kept in one pod, the *home* (the first bottom pod, as for
flavors), and copied to another pod when a server is booted there with it, by the keypair
sync (a sync job row, run by the engines), not by a copy of its logic here.

Create, list, show and delete are the home pod's, with the caller's token: Nova keeps a
keypair per user, so nothing is routed. A boot in another pod first compares that pod's
keypair with the home's (two reads with the caller's token) and, when it is missing or
different, writes a sync job (home -> pod, `force`: the home is the truth) and waits for
it ([gateway] keypair_sync_timeout).
"""

import logging
import time

from multisite.gateway import faults, proxy
from multisite.objects import sync_jobs

LOG = logging.getLogger(__name__)

SERVICE_TYPE = "compute"
KEYPAIR = "keypair"


def home(conf):
    return proxy.any_pod(conf)


def forward(conf, req, call, base, path):
    """/os-keypairs[/{name}] calls: the home pod's answer, links to the gateway."""
    pod = home(conf)
    found = proxy.forward(conf, pod, req, path, service_type=SERVICE_TYPE)
    return proxy.rewrite(found, conf, pod, base, service_type=SERVICE_TYPE)


def _public_key(conf, pod, req, name):
    found = proxy.get(conf, pod, req, f"/os-keypairs/{name}", service_type=SERVICE_TYPE)
    if found.status == 404:
        return None
    if found.status >= 400:
        raise faults.Fault(found.status, f"Pod {pod['pod_name']} answered {found.status} "
                                         f"reading keypair {name}")
    return found.json()["keypair"]["public_key"].strip()


def ensure_in_pod(conf, req, call, pod, name):
    """Make keypair `name` of the caller exist in `pod` as in the home pod, before a boot."""
    if not isinstance(name, str):
        return  # no keypair: nothing to read (the pod refuses a malformed key_name)
    source = home(conf)
    if pod["pod_id"] == source["pod_id"]:
        return  # the home pod itself validates the key_name
    wanted = _public_key(conf, source, req, name)
    if wanted is None:
        raise faults.Fault(400, f"Invalid key_name provided: no keypair {name}")
    if _public_key(conf, pod, req, name) == wanted:
        return
    if not call.user_id:
        raise faults.Fault(400, f"Keypair {name} cannot be copied to pod {pod['pod_name']}:"
                                " the request names no user")
    job, _ = sync_jobs.create(conf, project_id=call.project_id, user_id=call.user_id, rows=[
        {"resource_type": KEYPAIR, "resource": name, "source": source["pod_name"],
         "target": pod["pod_name"], "force": True}])
    LOG.info("Copying a keypair to a pod: project=%s keypair=%s pod=%s job=%s",
             call.project_id, name, pod["pod_name"], job["id"])
    deadline = time.monotonic() + conf.gateway.keypair_sync_timeout
    while time.monotonic() < deadline:
        status = sync_jobs.get_job(conf, job["id"])["sync_status"]
        if status == sync_jobs.SUCCESS:
            return
        if status == sync_jobs.FAILURE:
            (row,) = sync_jobs.get_rows(conf, job["id"])
            raise faults.Fault(400, f"Keypair {name} could not be copied to pod "
                                    f"{pod['pod_name']} (sync job {job['id']}): "
                                    f"{row['error']}")
        time.sleep(0.2)
    raise faults.pod_unavailable(pod["pod_name"], f"keypair {name} not copied within "
                                                  f"{conf.gateway.keypair_sync_timeout:.0f} s "
                                                  f"(sync job {job['id']})")
