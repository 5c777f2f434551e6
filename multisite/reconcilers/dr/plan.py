"""Discovery of a protection plan: what its servers need, and what cannot be protected.

`assess` is pure: given the plan and what the source region answered, it names every
resource that cannot be protected and why (the plan's `problems`). `reconcile` reads the
region (one DrClient), records the result, and is done: a plan is rediscovered on request
and before every checkpoint.
"""

from __future__ import annotations

import logging

from multisite.clients import errors as client_errors
from multisite.reconcilers import Outcome, TemporaryError

LOG = logging.getLogger(__name__)

KIND = "dr_plan"
# methods that copy the servers' volumes (Option 1 of the seed, with its consistency)
VOLUME_METHODS = ("pause", "quiesce", "none", "replicate")
RUNNABLE = ("ACTIVE", "PAUSED", "SHUTOFF")


def problem(resource, reason):
    return {"resource": resource, "reason": reason}


def _yes(value):
    return str(value or "").lower() in ("yes", "true", "1", "on", "y")


def quiesce_properties(server, volumes):
    """What Nova's createImage will do about the quiesce of a volume-backed server:
    {"boot_volume": id or None, "guest_agent": bool, "require_quiesce": bool}, read from
    the image properties Cinder keeps on its boot volume (`volume_image_metadata`: Nova
    took the instance's image properties from them at boot). Pure."""
    boot = [volumes[v] for v in server["volumes"] if v in volumes and volumes[v]["bootable"]]
    meta = boot[0]["image_metadata"] if boot else {}
    return {"boot_volume": boot[0]["id"] if boot else None,
            "guest_agent": _yes(meta.get("hw_qemu_guest_agent")),
            "require_quiesce": _yes(meta.get("os_require_quiesce"))}


def quiesce_problems(server, volumes):
    """Why Nova would not quiesce this server inside createImage (empty: it would). Pure."""
    if server["image_id"] or not server["volumes"]:
        return ["method quiesce needs a volume-backed server: Nova quiesces a guest only "
                "inside createImage of a server booted from a volume (use method "
                "vm-snapshot or pause)"]
    props = quiesce_properties(server, volumes)
    if props["boot_volume"] is None:
        return ["method quiesce: no bootable volume of the server is readable, so its "
                "image's hw_qemu_guest_agent cannot be checked"]
    if not props["guest_agent"]:
        return [f"method quiesce: the image of its boot volume {props['boot_volume']} has "
                "no hw_qemu_guest_agent=yes, so Nova would snapshot it without quiescing "
                "(set the property on the image and boot the server from a new volume, or "
                "use method pause)"]
    return []


def assess(plan, servers, volumes, keypairs, *, backup_region_known=True):
    """Problems of a plan (a list of {"resource", "reason"}; empty: protectable).

    servers: {ref: [normalized server, ...]} as found by name or id (0, 1 or more);
    volumes: {volume_id: normalized volume}; keypairs: {(user_id, name): keypair or None}.
    """
    found = []
    method = plan["method"]
    if not backup_region_known:
        found.append(problem(f"region {plan['backup_region']}",
                             "the backup region is not in the catalog"))
    seen = {}
    for ref in (r for group in plan["groups"] for r in group):
        matches = servers.get(ref) or []
        if not matches:
            found.append(problem(f"server {ref}", f"not found in {plan['source_region']} "
                                                  f"(project {plan['project_id']})"))
            continue
        if len(matches) > 1:
            found.append(problem(f"server {ref}", f"the name matches {len(matches)} servers: "
                                                  "name it by id"))
            continue
        server = matches[0]
        if server["id"] in seen:
            found.append(problem(f"server {ref}", f"the same server as {seen[server['id']]}"))
            continue
        seen[server["id"]] = ref
        label = f"server {server['name']} ({server['id']})"
        if server["status"] not in RUNNABLE:
            found.append(problem(label, f"is {server['status']}: only ACTIVE, PAUSED or "
                                        "SHUTOFF servers can be protected"))
        if server["key_name"] and keypairs.get((server["user_id"], server["key_name"])) is None:
            found.append(problem(f"keypair {server['key_name']}",
                                 f"of server {server['name']} not found for user "
                                 f"{server['user_id']}"))
        if method == "vm-snapshot":
            continue
        if server["image_id"]:
            found.append(problem(label, f"boots from image {server['image_id']}: its root "
                                        "disk is not a volume, so a volume checkpoint would "
                                        "not restore it (boot it from a volume, or use "
                                        "method vm-snapshot)"))
        if not server["volumes"]:
            found.append(problem(label, "has no volume to protect"))
        for volume_id in server["volumes"]:
            volume = volumes.get(volume_id)
            vlabel = f"volume {volume_id} of server {server['name']}"
            if volume is None:
                found.append(problem(vlabel, "not readable in the source region"))
                continue
            if volume["multiattach"]:
                found.append(problem(vlabel, "is multiattach: no consistent copy per server"))
            if volume["status"] not in ("in-use", "available"):
                found.append(problem(vlabel, f"is {volume['status']}"))
        if method == "quiesce":
            found.extend(problem(label, reason) for reason in quiesce_problems(server, volumes))
    return found


def discover(plan, client, *, backup_region_known=True):
    """(resources, problems): read the source region for every server of the plan."""
    project = plan["project_id"]
    servers = {ref: client.find_servers(project, ref)
               for group in plan["groups"] for ref in group}
    unique = {}
    for matches in servers.values():
        if len(matches) == 1:
            unique[matches[0]["id"]] = matches[0]
    volumes, keypairs, ports, networks, groups = {}, {}, {}, {}, {}
    for server in unique.values():
        for volume_id in server["volumes"]:
            try:
                volumes[volume_id] = client.volume(volume_id)
            except client_errors.RegionRejected:
                pass
        if server["key_name"]:
            key = (server["user_id"], server["key_name"])
            try:
                keypairs[key] = client.keypair(server["key_name"], user_id=server["user_id"])
            except client_errors.RegionRejected:
                keypairs[key] = None
        ports[server["id"]] = client.ports(server["id"])
        for port in ports[server["id"]]:
            if port["network_id"] not in networks:
                networks[port["network_id"]] = client.network(port["network_id"])
            todo = list(port["security_groups"])
            while todo:       # the port's groups and the groups their rules reference
                group_id = todo.pop()
                if group_id in groups:
                    continue
                groups[group_id] = client.security_group(group_id)
                todo.extend(r["remote_group_id"] for r in groups[group_id]["rules"]
                            if r.get("remote_group_id"))
    problems = assess(plan, servers, volumes, keypairs,
                      backup_region_known=backup_region_known)
    order = {}
    for index, group in enumerate(plan["groups"]):
        for ref in group:
            matches = servers.get(ref) or []
            if len(matches) == 1:
                order.setdefault(matches[0]["id"], index)
    resources = {
        "servers": [dict(unique[sid], group=order[sid], ports=ports.get(sid, []))
                    for sid in order],
        "volumes": [volumes[v] for v in sorted(volumes)],
        "keypairs": [k for k in keypairs.values() if k is not None],
        "networks": [networks[n] for n in sorted(networks)],
        "security_groups": [groups[g] for g in sorted(groups)],
        "flavors": sorted({s["flavor"]["name"] for s in unique.values()
                           if s["flavor"]["name"]}),
        "images": sorted({s["image_id"] for s in unique.values() if s["image_id"]}
                         | {v["image_metadata"]["image_id"] for v in volumes.values()
                            if v["image_metadata"].get("image_id")}),
    }
    return resources, problems


def reconcile(key, env):
    """Discover one plan (key.id) in its source region and record the outcome."""
    shared = env.shared
    plan = shared.store.plan(key.id)
    if plan is None:
        return Outcome.done()
    try:
        client = shared.client(plan["source_region"])
        known = plan["backup_region"] in shared.regions()
        resources, problems = discover(plan, client, backup_region_known=known)
    except client_errors.RegionRejected as exc:
        resources, problems = None, [problem(f"region {plan['source_region']}", str(exc))]
    except client_errors.RegionError as exc:
        raise TemporaryError(str(exc)) from exc
    shared.store.record_discovery(key.id, resources=resources, problems=problems)
    LOG.info("Protection plan discovered: plan=%s servers=%d problems=%d", key.id,
             len((resources or {}).get("servers", [])), len(problems))
    return Outcome.done(result=problems)
