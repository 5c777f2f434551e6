"""DR method `vm-snapshot` (Option 2): Nova's createImage per server, the images of servers
booted from images copied to the backup region by the image copy kind, the volume
snapshots Nova makes for volume-backed servers backed up and exported; a restore boots the
image-backed servers from the copies. In-memory Nova/Cinder/Glance (fake_dr.py), real
database (the copy rows are objects/images.py's)."""

from __future__ import annotations

import pytest

from multisite.objects import checkpoints, images, restores
from multisite.reconcilers import Key, PermanentError
from multisite.reconcilers.dr import checkpoint as cp_kind
from multisite.reconcilers.dr import restore as restore_kind
from tests.unit.reconcilers import test_dr
from tests.unit.reconcilers.fake_dr import FakeSites
from tests.unit.reconcilers.fake_regions import FakeCloud

R1, R2 = test_dr.R1, test_dr.R2
env = test_dr.env          # the DR kinds' environment over this module's `sites` fixture


@pytest.fixture
def sites():
    sites = FakeSites()
    sites.add_server(R1, "db-1", data_volume=True, ip="10.60.0.11")
    # booted from an image, with a data volume
    sites.add_server(R1, "app-1", boot_volume=False, data_volume=True, image="img-1",
                     ip="10.60.0.13")
    return sites


@pytest.mark.parametrize("mapping,volumes,found,missing", [
    ([{"snapshot_id": "s1", "device_name": "/dev/vda"},
      {"snapshot_id": "s2", "device_name": "/dev/vdb"}],
     [{"id": "v1", "device": "/dev/vda"}, {"id": "v2", "device": "/dev/vdb"}],
     {"v1": "s1", "v2": "s2"}, []),
    ([{"snapshot_id": "s1", "device_name": "/dev/vda"}, {"device_name": "/dev/vdc"}],
     [{"id": "v1", "device": "/dev/vda"}, {"id": "v2", "device": "/dev/vdb"}],
     {"v1": "s1"}, ["v2"]),
    ([], [{"id": "v1", "device": "/dev/vda"}], {}, ["v1"]),
])
def test_snapshot_ids_come_from_the_images_mapping(mapping, volumes, found, missing):
    assert cp_kind.snapshot_ids_by_volume(mapping, volumes) == (found, missing)


def _copy_images(db, sites):
    """What the image copy kind does (tested on its own): each requested copy made in its
    region under the source id, and marked active."""
    for copy in images.copies_of(db):
        if copy["state"] == images.PENDING:
            sites.images[copy["region"]][copy["image_id"]] = dict(
                sites.images[copy["source"]][copy["image_id"]])
            images.update_copy(db, copy["id"], state=images.ACTIVE,
                               target_id=copy["image_id"])


def _checkpoint(db, env, sites):
    plan = test_dr._ready_plan(db, env, groups=[["db-1"], ["app-1"]], method="vm-snapshot")
    assert plan["status"] == "ready", plan["problems"]
    cp_id = checkpoints.create(db, plan["id"])["id"]
    key = Key(cp_kind.KIND, cp_id, R1)
    for _ in range(20):
        try:
            if cp_kind.reconcile(key, env).status == "done":
                break
        except PermanentError:
            break
        _copy_images(db, sites)
    return checkpoints.get(db, cp_id)


def test_vm_snapshot_images_every_server_copies_images_and_backs_up_novas_snapshots(
        db, env, sites):
    cp = _checkpoint(db, env, sites)
    assert cp["status"] == "completed", cp["error"]
    calls = [c for r, c, _ in sites.log if r == R1]
    assert "pause" not in calls and calls.count("createImage") == 2
    servers = {s["name"]: s for s in cp["resources"]["servers"]}
    db1, app1 = servers["db-1"], servers["app-1"]
    assert db1["volume_backed"] and not app1["volume_backed"]
    # db-1: Nova's snapshots (named by the image) backed up; its image (references only)
    # deleted with them
    assert db1["image"] == "available" and db1["image_deleted"]
    assert db1["image_id"] not in sites.images[R1]
    # app-1: its image copied to the backup region under the same id, the source kept
    assert app1["image"] == "copied" and app1["copied_image_id"] == app1["image_id"]
    assert app1["image_id"] in sites.images[R2] and app1["image_id"] in sites.images[R1]
    copy = images.get_copy(db, app1["image_copy_id"])
    assert copy["origin"] == "dr" and copy["region"] == R2 and copy["state"] == "active"
    volumes = cp["resources"]["volumes"]
    assert len(volumes) == 3 and {v["status"] for v in volumes} == {"exported"}
    assert {v["imported_backup_id"] for v in volumes} == set(sites.backups[R2])
    assert sites.snapshots[R1] == {}          # Nova's and ours, deleted after the backups


def test_restore_boots_image_backed_servers_from_the_copies(db, env, sites, monkeypatch):
    cloud = FakeCloud(regions=(R1, R2)).install(monkeypatch)
    sites.install_network(monkeypatch)
    sites.has_keypair = lambda region, name, user: (user, name) in cloud.keypairs[region]
    cp = _checkpoint(db, env, sites)
    assert cp["status"] == "completed", cp["error"]
    restore = restores.create(db, cp["id"], region=R2, mode="drill")
    key = Key(restore_kind.KIND, restore["id"], R2)
    for _ in range(40):
        try:
            if restore_kind.reconcile(key, env).status == "done":
                break
        except PermanentError:
            break
    done = restores.get(db, restore["id"])
    assert done["status"] == "completed", done["error"]
    restored = {s["name"].split("-", 2)[-1]: s for s in sites.servers[R2].values()}
    app1 = next(s for s in cp["resources"]["servers"] if s["name"] == "app-1")
    assert restored["app-1"]["image_id"] == app1["copied_image_id"]
    assert restored["db-1"]["image_id"] is None and restored["db-1"]["volumes"]
    assert {s["status"] for s in restored.values()} == {"ACTIVE"}
    # app-1's data volume restored from its backup and attached to the image-backed server
    data = [v for v in done["resources"]["volumes"] if v["server"] == "app-1"]
    assert len(data) == 1 and data[0]["attach"] == "attached"


def test_an_image_that_never_becomes_active_fails_the_checkpoint(db, env, sites,
                                                                 monkeypatch):
    monkeypatch.setattr(cp_kind, "_age", lambda stamp: 10_000.0)   # past snapshot_timeout
    real = sites.client(R1).__class__.create_image

    def queued(self, server_id, *, name):
        image_id = real(self, server_id, name=name)
        self.sites.images[self.region][image_id]["status"] = "queued"   # never uploaded
        return image_id

    sites.client(R1).__class__.create_image = queued
    try:
        cp = _checkpoint(db, env, sites)
    finally:
        sites.client(R1).__class__.create_image = real
    assert cp["status"] == "failed" and "still queued after [dr] snapshot_timeout" in \
        cp["error"], cp["error"]
    # nothing left behind: the images it made, the data volume's snapshot
    assert sites.images[R1] == {} and sites.snapshots[R1] == {}


class Killed(BaseException):
    """The engine dies here."""


def test_a_resumed_images_phase_still_snapshots_the_data_volumes(db, env, sites):
    plan = test_dr._ready_plan(db, env, groups=[["db-1"], ["app-1"]], method="vm-snapshot")
    cp_id = checkpoints.create(db, plan["id"])["id"]
    client_class = sites.client(R1).__class__
    real = client_class.create_snapshot

    def dies(self, volume_id, *, name):
        raise Killed()      # after the createImage requests were recorded

    client_class.create_snapshot = lambda self, volume_id, *, name: (
        real(self, volume_id, name=name) if name.startswith("snapshot for") else
        dies(self, volume_id, name=name))
    try:
        with pytest.raises(Killed):
            cp_kind.reconcile(Key(cp_kind.KIND, cp_id, R1), env)
    finally:
        client_class.create_snapshot = real
    assert all(s.get("image_id") for s in checkpoints.get(db, cp_id)["resources"]["servers"])
    key = Key(cp_kind.KIND, cp_id, R1)
    for _ in range(20):
        if cp_kind.reconcile(key, env).status == "done":
            break
        _copy_images(db, sites)
    cp = checkpoints.get(db, cp_id)
    assert cp["status"] == "completed", cp["error"]
    data = next(v for v in cp["resources"]["volumes"] if v["server"] == "app-1")
    assert data["snapshot_id"] and data["status"] == "exported"
    assert sites.log.count((R1, "createImage", data["server_id"])) == 1
