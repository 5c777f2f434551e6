"""Restores of checkpoints into the backup region (drill or failover): a durable job in phases.

    import -> volumes -> resources -> network -> servers -> attach -> done

Only the target region is ever called: the source region may be gone (failover), and a
drill must not touch it. What the restore needs comes from the checkpoint (its volumes and
their imported backups, the plan's discovery it ran on: servers, ports, networks, keypairs,
flavors).

* import: each volume's backup record is imported in the target unless its imported backup
  is still there (the checkpoint's export imported it).
* volumes: a volume restored from each imported backup, all at once, polled until available;
  boot volumes are marked bootable (Cinder's restore does not carry the flag).
* resources: keypairs through the keypair sync reconciler (the checkpoint's record is the
  source snapshot), flavors through the flavor sync reconciler (the record answers as the
  source); an identical flavor of the same name in the target is used as it is. The engine
  hands those reconcilers' `apply` in (`env.shared.sync_apply`): reconcilers stay
  independent of each other.
* network: each network and its subnets (same CIDR, gateway, pools); the ports' security
  groups (recorded with their rules at checkpoint time, and the groups their rules
  reference) through the security-group sync reconciler (`env.shared.sync_apply`), the
  record answering as the source, in the plan's project; then one port per recorded port
  with the same MAC and fixed IPs and the recreated groups; a port whose address the target
  refuses (taken, outside the subnet) is created with an address Neutron chooses, and says
  so.
* servers: booted from their restored boot volumes with their ports, keypair and flavor,
  group by group in the plan's order (a group starts when the previous one is ACTIVE).
* attach: the data volumes attached to their servers; the RTO (request to the last
  attachment) is recorded.

Idempotent and resumable: every resource is created under a deterministic name, recorded
as `creating` before its call and with its id after; a resumed phase finds by name what a
dead engine created but had not recorded, and adopts it instead of creating another.

A drill restores everything under names prefixed `drill-<8 hex of the restore id>-` on its
own networks (the same CIDRs and addresses, not connected to anything), in the restore's
target project: one the request named or `[dr] drill_project`, else the plan's project; a
failover uses the original names, in the plan's project.

Everything a restore creates belongs to its target project: before its first create the
service user is given `[dr] restore_role` in that project (idempotent), and volumes,
networks, subnets, ports, servers and security groups are made with the service user's
token scoped to the project (`env.shared.client(region, project_id=...)`). The backups
stay the service's (the tenant cannot delete them). Keypairs belong to users: the plan's
user gets the recorded keypair, and so does the service user, because Nova boots a server
with a keypair of the user who asks (the server's key is copied into it at boot).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging

from multisite.clients import errors as client_errors
from multisite.reconcilers import Outcome, PermanentError, TemporaryError

LOG = logging.getLogger(__name__)

KIND = "dr_restore"
IMPORT, VOLUMES, RESOURCES, NETWORK, SERVERS, ATTACH, DONE = (
    "import", "volumes", "resources", "network", "servers", "attach", "done")
PHASES = (IMPORT, VOLUMES, RESOURCES, NETWORK, SERVERS, ATTACH)
SOURCE = "checkpoint"      # the region name the recorded source answers for


def now_iso():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- pure planning ------------------------------------------------------------------------
def next_phase(restore):
    """The phase to run (None: the restore ended)."""
    if restore["status"] in ("completed", "failed"):
        return None
    return restore["phase"] if restore["phase"] in PHASES else None


def target_project(restore):
    """The project a restore creates its resources in (a drill's may not be the plan's)."""
    return restore.get("target_project_id") or restore["project_id"]


def prefix(restore):
    """The name prefix of everything a restore creates: none for a failover."""
    return f"drill-{restore['id'][:8]}-" if restore["mode"] == "drill" else ""


def volume_name(restore_id, volume_id):
    return f"ms-dr-{restore_id}-{volume_id}"


def boot_groups(servers):
    """Server names grouped in the plan's order: [[names of group 0], [group 1], ...]."""
    groups = {}
    for server in sorted(servers, key=lambda s: (s["group"], s.get("position", 0))):
        groups.setdefault(server["group"], []).append(server["name"])
    return [groups[g] for g in sorted(groups)]


def group_name(pre, name):
    """A restored security group's name: a drill's `default` is a group of its own too."""
    return pre + name


def recorded_groups(found, pre):
    """The checkpoint's security groups (with their rules) under their restored names, as
    the security-group reconciler reads a source region's list. A record older than the
    rules (a rule count) gives none."""
    return [dict(g, name=group_name(pre, g["name"]), description=g.get("description") or "",
                 stateful=g.get("stateful", True))
            for g in found.get("security_groups", []) if isinstance(g.get("rules"), list)]


def fixed_ips_kept(port, subnets):
    """The port's fixed IPs that fall inside a recorded subnet (the others cannot be kept)."""
    cidrs = {s["id"]: ipaddress.ip_network(s["cidr"]) for s in subnets}
    kept = []
    for ip in port.get("fixed_ips", []):
        cidr = cidrs.get(ip.get("subnet_id"))
        if cidr is not None and ipaddress.ip_address(ip["ip_address"]) in cidr:
            kept.append(ip)
    return kept


def initial_report(checkpoint, restore):
    """The per-resource report a restore starts from (all pending)."""
    res = checkpoint["resources"]
    found = res.get("plan") or {}
    pre = prefix(restore)
    servers = {s["id"]: s for s in found.get("servers", [])}
    order = {s["id"]: (s["group"], s.get("position", i))
             for i, s in enumerate(res.get("servers", []))}
    # method vm-snapshot: a server booted from an image boots from its copy
    images = {s["id"]: s["copied_image_id"] for s in res.get("servers", [])
              if s.get("copied_image_id")}
    return {
        "volumes": [{"source_id": v["id"], "server": v.get("server"),
                     "bootable": v["bootable"], "device": v.get("device"),
                     "backup_id": v.get("imported_backup_id"), "status": "pending"}
                    for v in res.get("volumes", [])],
        "keypairs": [{"name": k["name"], "user_id": k["user_id"], "status": "pending"}
                     for k in found.get("keypairs", [])],
        "flavors": [{"name": name, "status": "pending"}
                    for name in sorted({s["flavor"]["name"] for s in servers.values()
                                        if s["flavor"].get("name")})],
        "networks": [{"source_id": n["id"], "name": pre + n["name"], "status": "pending",
                      "subnets": [{"source_id": s["id"], "name": pre + (s["name"] or s["id"]),
                                   "status": "pending"} for s in n["subnets"]]}
                     for n in found.get("networks", [])],
        "security_groups": [{"source_id": g["id"], "name": group_name(pre, g["name"]),
                             "status": "pending"}
                            for g in found.get("security_groups", [])
                            if isinstance(g.get("rules"), list)
                            and any(g["id"] in p.get("security_groups", [])
                                    for s in servers.values() for p in s.get("ports", []))],
        "servers": [{"source_id": sid, "name": pre + s["name"], "source_name": s["name"],
                     "group": order.get(sid, (s["group"], 0))[0],
                     "position": order.get(sid, (0, i))[1], "status": "pending",
                     **({"image_id": images[sid]} if sid in images else {}),
                     "ports": [{"source_id": p["id"], "name": f"{pre}{s['name']}-port{n}",
                                "network_id": p["network_id"], "mac_address": p["mac_address"],
                                "fixed_ips": p.get("fixed_ips", []),
                                "security_groups": p.get("security_groups", []),
                                "status": "pending"}
                               for n, p in enumerate(s.get("ports", []))]}
                    for i, (sid, s) in enumerate(servers.items())],
    }


# -- the recorded source the sync reconcilers read ------------------------------------------
class _RecordedCompute:
    """Answers the sync reconcilers' source reads from the checkpoint's record."""

    def __init__(self, found):
        self._keypairs = {(k["user_id"], k["name"]): k for k in found.get("keypairs", [])}
        self._flavors = {}
        for server in found.get("servers", []):
            flavor = server["flavor"]
            if flavor.get("name"):
                self._flavors[flavor["name"]] = flavor

    def get_keypair(self, name, *, user_id):
        return dict(self._keypairs[(user_id, name)])

    def find_flavors(self, name):
        flavor = self._flavors.get(name)
        if flavor is None:
            return []
        # the embedded flavor has no id: the target chooses one (2.47 embeds no id)
        return [{"id": None, "name": name, "ram": flavor["ram"], "vcpus": flavor["vcpus"],
                 "disk": flavor["disk"], "ephemeral": flavor.get("ephemeral", 0),
                 "swap": flavor.get("swap", 0) or 0, "rxtx_factor": 1.0, "is_public": True,
                 "description": None}]

    def get_extra_specs(self, flavor_id_or_name):
        flavor = self._flavors.get(flavor_id_or_name) or next(iter(self._flavors.values()),
                                                              {})
        return dict(flavor.get("extra_specs") or {})

    def get_flavor_access(self, flavor_id):
        return []


class _RecordedNetwork:
    """Answers the security-group reconciler's source read from the checkpoint's record."""

    def __init__(self, groups):
        self._groups = groups

    def list_security_groups(self, project_id):
        return [dict(g, rules=[dict(r) for r in g["rules"]]) for g in self._groups]


class _Regions:
    """The `regions` of the sync reconcilers: the record as the source, the target's compute
    and network."""

    def __init__(self, shared, found, pre=""):
        self._shared, self._recorded = shared, _RecordedCompute(found)
        self._network = _RecordedNetwork(recorded_groups(found, pre))

    def compute(self, region):
        return self._recorded if region == SOURCE else self._shared.compute(region)

    def network(self, region):
        return self._network if region == SOURCE else self._shared.network(region)


# -- applying -----------------------------------------------------------------------------
class _Run:
    def __init__(self, key, shared):
        self.key, self.shared, self.store = key, shared, shared.store
        self.restore = self.store.restore(key.id)
        self.checkpoint = (self.store.checkpoint(self.restore["checkpoint_id"])
                           if self.restore else None)

    @property
    def report(self):
        return self.restore["resources"]

    @property
    def target(self):
        """The target region with the service's own project (backup records)."""
        return self.shared.client(self.restore["region"])

    @property
    def tenant(self):
        """The target region as the restore's target project: what a restore creates
        belongs to it (the service user's role there given first, also for a restore resumed
        past it)."""
        self.scope()
        return self.shared.client(self.restore["region"],
                                  project_id=target_project(self.restore))

    def scope(self):
        """Give the service user its role in the target project once per restore; its id."""
        scope = self.report.get("scope")
        if scope is None:
            role, project = self.shared.opts.restore_role, target_project(self.restore)
            user_id = self.target.grant_service_role(project, role)
            scope = self.report["scope"] = {"project_id": project,
                                            "role": role, "service_user_id": user_id}
            self.save()
        return scope

    @property
    def found(self):
        return self.checkpoint["resources"].get("plan") or {}

    def save(self, **values):
        for name, value in values.items():
            if value is not None:
                self.restore[name] = value
        self.store.save_restore(self.key.id, resources=self.report, **values)

    def fail(self, error):
        self.store.finish_restore(self.key.id, ok=False, error=error)
        LOG.error("Restore failed: restore=%s checkpoint=%s region=%s error=%s", self.key.id,
                  self.restore["checkpoint_id"], self.restore["region"], error)
        raise PermanentError(error)

    def poll(self):
        return Outcome.requeue_after(self.shared.opts.poll_interval)


def _import(run):
    target = run.target
    records = {v["id"]: v.get("record") for v in run.checkpoint["resources"]["volumes"]}
    for volume in run.report["volumes"]:
        backup = target.backup(volume["backup_id"]) if volume.get("backup_id") else None
        if backup is not None and backup["status"] not in ("error", "deleted"):
            volume["backup_status"] = backup["status"]
            continue
        record = records.get(volume["source_id"])
        if not record:
            run.fail(f"volume {volume['source_id']}: no backup in {run.restore['region']} "
                     "and no exported record to import")
        volume["backup_id"], volume["reimported"] = target.import_backup(record), True
        run.save()
    pending = []
    for volume in run.report["volumes"]:
        backup = target.backup(volume["backup_id"])
        volume["backup_status"] = backup["status"] if backup else "deleted"
        if volume["backup_status"] != "available":
            pending.append(volume["source_id"])
    run.save(phase=IMPORT if pending else VOLUMES)
    return run.poll() if pending else None


def _volumes(run):
    target, restore_id = run.tenant, run.key.id
    for volume in run.report["volumes"]:
        if volume.get("volume_id"):
            continue
        name = volume_name(restore_id, volume["source_id"])
        found = target.find_volumes(name)       # a dead engine's restore: adopted
        volume["status"] = "restoring"
        volume["volume_id"] = found[0] if found else target.restore_backup(
            volume["backup_id"], name=name)
        volume["adopted"] = bool(found)
        volume["started_at"] = now_iso()
        run.save()
    pending = []
    for volume in run.report["volumes"]:
        if volume["status"] == "restored":
            continue
        observed = target.volume(volume["volume_id"])
        status = observed["status"]
        if status == "available":
            if volume["bootable"] and not observed["bootable"]:
                # Cinder restores the data, not the flag: Nova boots only bootable volumes
                target.set_bootable(volume["volume_id"])
            volume["status"], volume["restored_at"] = "restored", now_iso()
        elif status.startswith("error"):
            volume["status"] = "failed"
            run.save()
            run.fail(f"restore of volume {volume['source_id']} (server {volume['server']}) "
                     f"from backup {volume['backup_id']}: {status}")
        else:
            pending.append(volume)
    run.save(phase=VOLUMES if pending else RESOURCES)
    return run.poll() if pending else None


def _resources(run):
    region = run.restore["region"]
    regions = _Regions(run.shared, run.found)
    boot_user = run.scope()["service_user_id"]
    for key in run.report["keypairs"]:
        # the plan's user's keypair, and the same key for the service user who boots the
        # servers (Nova finds key_name among the asking user's keypairs)
        for field, user_id in (("status", key["user_id"]), ("boot_copy", boot_user)):
            if key.get(field) == "present" or (field == "boot_copy"
                                               and user_id == key["user_id"]):
                continue
            item = {"resource": key["name"], "user_id": user_id, "force": False,
                    "source_region": SOURCE, "target_region": region,
                    "target_id": key["name"], "source_snapshot": dict(
                        regions.compute(SOURCE).get_keypair(key["name"],
                                                            user_id=key["user_id"]),
                        user_id=user_id)}
            try:
                run.shared.sync_apply["keypair"](item, regions)
                key[field] = "present"
            except PermanentError as exc:
                key[field], key[f"{field}_error" if field != "status" else "error"] = (
                    "conflict", str(exc))
            run.save()
            if field == "boot_copy" and key[field] == "conflict":
                # booting would inject the service user's other key of that name
                run.fail(f"keypair {key['name']}: the service user {boot_user} holds another "
                         f"key of that name in {region} ({key['boot_copy_error']})")
    target = run.shared.compute(region)
    for flavor in run.report["flavors"]:
        if flavor.get("id"):
            continue
        desired = regions.compute(SOURCE).find_flavors(flavor["name"])[0]
        same = [f for f in target.find_flavors(flavor["name"])
                if all(f[a] == desired[a] for a in ("ram", "vcpus", "disk"))]
        if same:
            flavor["id"], flavor["status"] = same[0]["id"], "present"
        else:
            item = {"resource": flavor["name"], "force": False, "source_region": SOURCE,
                    "target_region": region, "target_id": flavor["name"]}
            try:
                flavor["id"] = run.shared.sync_apply["flavor"](item, regions,
                                                                 lambda name: None)
                flavor["status"] = "created"
            except PermanentError as exc:
                flavor["status"], flavor["error"] = "conflict", str(exc)
                run.save()
                run.fail(f"flavor {flavor['name']}: {exc}")
        run.save()
    run.save(phase=NETWORK)


def _adopt_or_create(entry, find, create):
    """The id of the resource `entry` names: found (a dead engine made it) or created."""
    found = find()
    if found:
        entry["adopted"] = True
        return found[0]
    return create()


def _network(run):
    target = run.tenant
    recorded = {n["id"]: n for n in run.found.get("networks", [])}
    subnet_ids = {}
    for net in run.report["networks"]:
        source = recorded[net["source_id"]]
        if not net.get("id"):
            net["status"] = "creating"
            run.save()
            net["id"] = _adopt_or_create(net, lambda n=net: target.find_networks(n["name"]),
                                         lambda n=net, m=source.get("mtu"):
                                         target.create_network(name=n["name"], mtu=m))
            net["status"] = "created"
            run.save()
        by_source = {s["id"]: s for s in source["subnets"]}
        for sub in net["subnets"]:
            if not sub.get("id"):
                spec = dict(by_source[sub["source_id"]], name=sub["name"])
                sub["status"] = "creating"
                run.save()
                sub["id"] = _adopt_or_create(
                    sub, lambda n=net, s=sub: target.find_subnets(n["id"], s["name"]),
                    lambda n=net, s=spec: target.create_subnet(n["id"], s))
                sub["status"] = "created"
                run.save()
            subnet_ids[sub["source_id"]] = sub["id"]
    group_ids = _security_groups(run)
    nets = {n["source_id"]: n["id"] for n in run.report["networks"]}
    subnets = [s for n in recorded.values() for s in n["subnets"]]
    for server in run.report["servers"]:
        for port in server["ports"]:
            if port.get("id"):
                continue
            kept = fixed_ips_kept(port, subnets)
            ips = [{"subnet_id": subnet_ids[ip["subnet_id"]], "ip_address": ip["ip_address"]}
                   for ip in kept]
            port["status"] = "creating"
            run.save()
            found = target.find_ports(port["name"])
            # the recreated groups (a record older than the groups' rules: the default)
            groups = ([group_ids[g] for g in port["security_groups"] if g in group_ids]
                      if group_ids and "security_groups" in port else None)
            if found:
                made, port["adopted"] = found[0], True
            else:
                try:
                    made = target.create_port(nets[port["network_id"]], name=port["name"],
                                              mac_address=port["mac_address"], fixed_ips=ips,
                                              security_groups=groups)
                except client_errors.RegionRejected as exc:
                    # the address or MAC is taken or refused: Neutron chooses, and we say so
                    port["address_error"] = str(exc)
                    made = target.create_port(nets[port["network_id"]], name=port["name"],
                                              fixed_ips=[{"subnet_id": i["subnet_id"]}
                                                         for i in ips] or None,
                                              security_groups=groups)
            port["restored_security_groups"] = groups
            port.update(id=made["id"], status="created",
                        restored_mac=made["mac_address"],
                        restored_ips=[i["ip_address"] for i in made["fixed_ips"]])
            port["same_address"] = (made["mac_address"] == port["mac_address"] and sorted(
                port["restored_ips"]) == sorted(i["ip_address"] for i in port["fixed_ips"]))
            run.save()
    run.save(phase=SERVERS)


def _security_groups(run):
    """Recreate the ports' security groups (and those their rules reference) in the target
    project through the security-group reconciler; {source group id: target group id}."""
    entries = run.report.get("security_groups") or []
    if not entries:
        return {}
    region, project = run.restore["region"], target_project(run.restore)
    regions = _Regions(run.shared, run.found, prefix(run.restore))
    for entry in entries:
        if entry["status"] == "present":
            continue
        item = {"resource": entry["source_id"], "project_id": project, "force": False,
                "source_region": SOURCE, "target_region": region,
                "target_id": entry.get("target_id")}

        def record(names, e=entry):
            e["target_id"] = names
            run.save()
        try:
            run.shared.sync_apply["security_group"](item, regions, record)
        except PermanentError as exc:
            entry["status"], entry["error"] = "conflict", str(exc)
            run.save()
            run.fail(f"security group {entry['name']}: {exc}")
        entry["status"] = "present"
        run.save()
    ids = {g["name"]: g["id"]
           for g in run.shared.network(region).list_security_groups(project)}
    for entry in entries:
        entry["id"] = ids.get(entry["name"])
    run.save()
    return {e["source_id"]: e["id"] for e in entries if e.get("id")}


def _servers(run):
    target = run.tenant
    by_name = {s["name"]: s for s in run.report["servers"]}
    source = {s["id"]: s for s in run.found.get("servers", [])}
    boots = {v["server"]: v for v in run.report["volumes"] if v["bootable"]}
    flavors = {f["name"]: f["id"] for f in run.report["flavors"]}
    opts = run.shared.opts
    for group in boot_groups(run.report["servers"]):
        for name in group:
            server = by_name[name]
            if server.get("id"):
                continue
            recorded = source[server["source_id"]]
            boot = boots.get(server["source_name"])
            if boot is None and not server.get("image_id"):
                run.fail(f"server {server['source_name']}: no boot volume in the checkpoint")
            server["status"] = "creating"
            run.save()
            server["id"] = _adopt_or_create(
                server, lambda s=server: [x["id"] for x in target.find_own_servers(s["name"])],
                lambda s=server, r=recorded, b=boot: target.create_server(
                    name=s["name"], flavor_id=flavors[r["flavor"]["name"]],
                    boot_volume_id=b["volume_id"] if b else None,
                    image_id=None if b else s["image_id"],
                    port_ids=[p["id"] for p in s["ports"]], key_name=r.get("key_name")))
            server["status"], server["created_at"] = "building", now_iso()
            run.save()
        waiting = []
        for name in group:
            server = by_name[name]
            if server["status"] == "active":
                continue
            status = target.server(server["id"])["status"]
            if status == "ACTIVE":
                server["status"], server["active_at"] = "active", now_iso()
            elif status == "ERROR":
                server["status"] = "failed"
                run.save()
                run.fail(f"server {server['name']} is ERROR in {run.restore['region']}")
            else:
                waiting.append(name)
        if waiting:
            run.save()
            if _elapsed(run) > opts.restore_timeout:
                run.fail("servers not ACTIVE after [dr] restore_timeout: " + ", ".join(waiting))
            return run.poll()      # the next group starts once this one is ACTIVE
    run.save(phase=ATTACH)
    return None


def _elapsed(run):
    created = run.restore["created_at"]
    return (datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - created).total_seconds()


def _attach(run):
    target = run.tenant
    ids = {s["source_name"]: s["id"] for s in run.report["servers"]}
    data = [v for v in run.report["volumes"] if not v["bootable"]]
    for volume in data:
        if volume.get("attach") in ("requested", "attached"):
            continue
        observed = target.volume(volume["volume_id"])
        if observed["server_id"] != ids[volume["server"]]:
            target.attach_volume(ids[volume["server"]], volume["volume_id"])
        volume["attach"] = "requested"
        run.save()
    pending = []
    for volume in data:
        if volume["attach"] == "attached":
            continue
        observed = target.volume(volume["volume_id"])
        if observed["status"] == "in-use" and observed["server_id"] == ids[volume["server"]]:
            volume.update(attach="attached", attached_device=observed["device"])
        elif observed["status"].startswith("error"):
            run.fail(f"attach of volume {volume['volume_id']} to {volume['server']}: "
                     f"{observed['status']}")
        else:
            pending.append(volume)
    if pending:
        run.save()
        return run.poll()
    for volume in run.report["volumes"]:
        if volume["bootable"]:
            volume["attach"] = "boot"
    rto = round(_elapsed(run), 3)
    run.save(phase=DONE, rto_seconds=rto)
    run.store.finish_restore(run.key.id, ok=True)
    LOG.info("Restore completed: restore=%s checkpoint=%s region=%s mode=%s servers=%d "
             "rto=%.3f", run.key.id, run.restore["checkpoint_id"], run.restore["region"],
             run.restore["mode"], len(run.report["servers"]), rto)
    return Outcome.done(result=run.key.id)


ACTIONS = {IMPORT: _import, VOLUMES: _volumes, RESOURCES: _resources, NETWORK: _network,
           SERVERS: _servers, ATTACH: _attach}


def reconcile(key, env):
    """Move one restore (key.id) as far as it goes now."""
    run = _Run(key, env.shared)
    if run.restore is None:
        return Outcome.done()
    if run.checkpoint is None:
        run.store.finish_restore(key.id, ok=False, error="the checkpoint was deleted")
        return Outcome.done()
    try:
        if not run.report:
            run.restore["resources"] = initial_report(run.checkpoint, run.restore)
            run.save(status="running", phase=IMPORT)
        for _ in range(len(ACTIONS) + 1):
            phase = next_phase(run.restore)
            if phase is None:
                return Outcome.done(result=key.id)
            outcome = ACTIONS[phase](run)
            if outcome is not None:
                return outcome
    except client_errors.RegionRejected as exc:
        run.save()
        run.fail(f"{run.restore['phase']}: {exc}")
    except client_errors.RegionError as exc:
        run.save()
        raise TemporaryError(f"{run.restore['phase']}: {exc}") from exc
    return run.poll()


