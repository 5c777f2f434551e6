"""Issue 19's "if the volume backend keeps real files, a marker written before the
checkpoint is in the restored volume", on the devcloud's full profile.

The full devcloud's Cinder uses the NFS driver over a local export (bind-mounted where the
driver mounts its share), so every volume is a file on this host, `<export>/volume-<id>`
(raw, sparse; after a snapshot the active file is a qcow2 overlay named in
`volume-<id>.info`), and cinder-backup's posix driver writes real chunks. Nova's fake
driver never writes to a volume, so bytes written into a volume's file travel only through
Cinder: the snapshot, the backup, the export/import of its record and the restore.

One server booted from a volume with one data volume (the smallest VNF of the DR
fixtures), in a project of its own in RegionOne. A unique random marker is written at
1 MiB into each volume's file (boot and data, a different one each), read back, then a real
checkpoint (method pause) runs through the checkpoint kind's reconcile in this process, and
a drill restores it by the restore kind into a project of its own in RegionTwo. Each
restored volume's file in RegionTwo's export (converted to raw with `qemu-img convert` if
it is qcow2) has its own source volume's marker at 1 MiB, and not the other's; the source
volumes still read theirs after the checkpoint (their qcow2 chain read as raw). A second
marker written at 2 MiB into each source volume after the checkpoint (through qemu-io:
the active file is then a qcow2 overlay) is read back there and is not in the restored
volumes.
"""

from __future__ import annotations

import json
import pathlib
import secrets
import subprocess
import time
import types

import pytest

from multisite.clients import dr as dr_client
from multisite.engine import dr as dr_env
from multisite.objects import checkpoints, protection_plans, restores
from multisite.reconcilers import Key
from multisite.reconcilers.dr import plan as plan_kind
from tests.integration.dr_vnf import (
    admin_project_id,
    admin_teardown,
    boot_vnf,
    delete_restore,
    dr_conf,
    run_checkpoint,
    run_restore,
    unlimited_volumes,
)
from tests.integration.usage import unique
from tests.polling import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.full]
R1, R2 = "RegionOne", "RegionTwo"
OFFSET = 1 << 20      # 1 MiB into the volume: the marker written before the checkpoint
LATE = 2 << 20        # 2 MiB: the one written after it


def _export(base, region):
    """The directory the region's Cinder NFS share exports (its nfs_shares file)."""
    share = pathlib.Path(base, region, "cinder", "nfs_shares").read_text().split()[0]
    return pathlib.Path(share.split(":", 1)[1])


def _active_file(export, volume_id):
    """The volume's file Cinder writes now: `volume-<id>`, or after a snapshot the overlay
    its `.info` file names active."""
    path = export / f"volume-{volume_id}"
    info = export / f"volume-{volume_id}.info"
    if info.exists():
        path = export / json.loads(info.read_text())["active"]
    assert path.exists(), f"no file for volume {volume_id} in {export}"
    return path


def _format(path):
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["format"]


def _write_marker(export, volume_id, marker):
    path = _active_file(export, volume_id)
    assert _format(path) == "raw", path      # never snapshotted: the plain sparse file
    with open(path, "r+b") as f:
        f.seek(OFFSET)
        f.write(marker)
        f.flush()
    return path


def _write_late(export, volume_id, marker, tmp_path):
    """`marker` at LATE into the volume as a disk, through qemu-io (after a snapshot the
    active file is a qcow2 overlay: its guest offsets are not the file's)."""
    path = _active_file(export, volume_id)
    block = tmp_path / f"{volume_id}.late"
    block.write_bytes(marker.ljust(512, b"\0"))
    subprocess.run(["qemu-io", "-f", _format(path), "-c", f"write -q -s {block} {LATE} 512",
                    str(path)], check=True, capture_output=True)


def _read_at(export, volume_id, size, tmp_path, offset=OFFSET):
    """`size` bytes at `offset` of the volume as a disk (its qcow2 chain read as raw)."""
    path = _active_file(export, volume_id)
    if _format(path) != "raw":
        raw = tmp_path / f"{volume_id}.raw"
        subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", str(path), str(raw)],
                       check=True, capture_output=True)
        path = raw
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(size)


def _delete_backups(conf, cp):
    made = [(dr_client.for_region(conf, region), v.get(key))
            for v in (cp or {}).get("resources", {}).get("volumes", [])
            for region, key in ((R2, "imported_backup_id"), (R1, "backup_id")) if v.get(key)]
    for client, backup_id in made:
        try:
            client.delete_backup(backup_id)
        except Exception:  # noqa: BLE001 - cleanup goes on
            continue
    try:
        wait_for(lambda: all(c.backup(b) is None for c, b in made) or None, timeout=240,
                 what="the checkpoint's backups deleted", interval=3)
    except Exception:  # noqa: BLE001, S110 - cleanup goes on
        pass


def test_marker_written_before_the_checkpoint_is_in_the_restored_volumes(
        devcloud_full, db, tmp_path):
    cloud = devcloud_full
    conf = dr_conf(db, cloud, poll_interval=0.5, region_timeout=60.0)
    env = types.SimpleNamespace(shared=dr_env.DrEnv(conf), attempts=1, item=None)
    src_export, dst_export = _export(cloud.base, "r1"), _export(cloud.base, "r2")
    project = cloud.create_project(unique("dr19m"))
    drills = cloud.create_project(unique("dr19m-drill"))
    servers, volumes, teardown, cp, restore_id = {}, {}, None, None, None
    started = time.monotonic()
    try:
        unlimited_volumes(cloud, admin_project_id(cloud))
        unlimited_volumes(cloud, project.id, regions=(R1,))
        unlimited_volumes(cloud, drills.id, regions=(R2,))
        servers, volumes, teardown = boot_vnf(project.connect(R1), ("db-1",),
                                              data=("db-1",), cidr="10.65.0.0/24", wait=600)
        server = servers["db-1"]
        data_id = volumes["db-1"].id
        boot_id = next(v["id"] for v in server.attached_volumes if v["id"] != data_id)
        markers = {vid: f"ms-dr-marker-{vid}-{secrets.token_hex(16)}".encode()
                   for vid in (boot_id, data_id)}
        for vid, marker in markers.items():
            _write_marker(src_export, vid, marker)
            assert _read_at(src_export, vid, len(marker), tmp_path) == marker

        plan = protection_plans.create(
            conf, project_id=project.id, user_id=project.user_id, name=unique("dr19m"),
            source_region=R1, backup_region=R2, groups=[[server.name]], method="pause",
            retention=2)
        plan_kind.reconcile(Key(plan_kind.KIND, plan["id"], R1), env)
        assert protection_plans.get(conf, plan["id"])["status"] == "ready"
        cp = run_checkpoint(conf, env, checkpoints.create(conf, plan["id"])["id"])
        assert cp["status"] == "completed", cp["error"]
        assert {v["id"] for v in cp["resources"]["volumes"]} == set(markers)
        checkpointed = time.monotonic()
        after_cp = {vid: _active_file(src_export, vid).name for vid in markers}
        # the source volumes still read their markers (the active file is now the qcow2
        # overlay the online snapshot made, over the raw file the marker was written in)
        source_after = {vid: _read_at(src_export, vid, len(m), tmp_path) == m
                        for vid, m in markers.items()}
        assert all(source_after.values()), source_after
        # a marker written after the checkpoint: the restore must not have it (it restores
        # the copy of the window, not the live volume)
        late = {vid: f"ms-dr-late-{vid}-{secrets.token_hex(16)}".encode() for vid in markers}
        for vid, marker in late.items():
            _write_late(src_export, vid, marker, tmp_path)
            assert _read_at(src_export, vid, len(marker), tmp_path, LATE) == marker

        restore_id = restores.create(conf, cp["id"], region=R2, mode="drill",
                                     target_project_id=drills.id)["id"]
        done = run_restore(conf, restore_id)
        assert done["status"] == "completed", done["error"]
        restored = {v["source_id"]: v["volume_id"] for v in done["resources"]["volumes"]}
        assert set(restored) == set(markers)
        found, formats = {}, {}
        for source_id, volume_id in restored.items():
            formats[volume_id] = _format(_active_file(dst_export, volume_id))
            assert volume_id not in markers
            size = max(len(m) for m in markers.values())
            found[source_id] = _read_at(dst_export, volume_id, size, tmp_path)
            after = _read_at(dst_export, volume_id, size, tmp_path, LATE)
            assert late[source_id] not in after, (source_id, after)
        for source_id, marker in markers.items():
            # its own marker at the same offset, and not the other volume's
            assert found[source_id][:len(marker)] == marker, (source_id, found[source_id])
            for other, other_marker in markers.items():
                if other != source_id:
                    assert other_marker not in found[source_id]
        print(f"marker check: {len(markers)} volumes, boot+checkpoint "  # noqa: T201
              f"{checkpointed - started:.1f} s, checkpoint window "
              f"{cp['window']['seconds']} s, restore RTO {done['rto_seconds']} s; source "
              f"active files after it {sorted(after_cp.values())} (formats "
              f"{sorted(_format(src_export / n) for n in after_cp.values())}), restored "
              f"formats "
              f"{sorted(formats.values())}")
    finally:
        if restore_id:
            delete_restore(conf, dr_client.for_region(conf, R2), restore_id)
        _delete_backups(conf, cp)
        if teardown is not None:
            admin_teardown(cloud, servers, volumes, teardown)
        cloud.delete_project(drills)
        cloud.delete_project(project)
