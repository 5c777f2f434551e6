"""Nova's fake driver plus the two calls Cinder's NFS driver needs for attached volumes.

The devcloud's nova-compute loads it with ``compute_driver =
multisite_snapshot_driver.SnapshotFakeDriver`` (``compute.conf``; Nova imports
``nova.virt.<that>``, a name the launcher ``nova_compute.py`` gives this file). It runs
inside the devcloud venv and imports Nova only.

A snapshot of an attached NFS volume is an *online* snapshot: cinder-volume writes the new
qcow2 overlay, asks Nova (``os-assisted-volume-snapshots``) to switch the guest to it, and
waits until the snapshot shows progress ``90%`` (Nova's "my part is done"); a delete is the
same with status ``deleting``. Nova's ``FakeDriver`` does not implement either call, so
such snapshots stayed ``creating`` until Cinder's 600 s timeout. This driver answers them
the way the libvirt driver does as far as Cinder sees it:

* create: the overlay Cinder made must exist; status ``creating`` + ``90%`` through Cinder's
  ``os-update_snapshot_status``; then wait for Cinder to finish and refresh the connection
  info (the guest's disk is the overlay now). A failure reports ``error``.
  A volume whose metadata has ``devcloud-fail-snapshot`` set gets this failure (tests).
* delete: the files are changed with ``qemu-img`` the way libvirt's ``blockRebase`` /
  ``blockCommit`` change them (libvirt itself rebases with ``qemu-img`` when the guest is not
  running), so that Cinder can remove the file it then deletes; status ``deleting`` +
  ``90%``. A failure reports ``error_deleting``.

There is no guest: nothing is copied at run time, and the guest never wrote to the overlay.
The fake driver forgets its instances when nova-compute restarts, so these calls do not ask
it whether the instance runs (Nova's API already checked the server's state).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time

from nova import exception, objects
from nova.virt import block_device as driver_block_device
from nova.virt import fake
from nova.volume import cinder
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

# how long create waits for Cinder to leave `creating` after Nova's part (Cinder's own bound)
WAIT_S = 600
POLL_S = 0.5
# fault injection for tests: a volume with this metadata key (any non-empty value) gets its
# online snapshots failed by Nova (status `error`), as a libvirt failure would
FAIL_KEY = "devcloud-fail-snapshot"


class SnapshotFakeDriver(fake.FakeDriverWithoutFakeNodes):
    """FakeDriverWithoutFakeNodes + online volume snapshots of NFS/qcow2 volumes."""

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only)
        self._volume_api = cinder.API()

    # -- the two calls ------------------------------------------------------------------------
    def volume_snapshot_create(self, context, instance, volume_id, create_info):
        LOG.debug("volume_snapshot_create: create_info: %s", create_info, instance=instance)
        snapshot_id = create_info.get("snapshot_id")
        if snapshot_id is None:
            raise exception.InternalError("snapshot_id required in create_info")
        try:
            if create_info.get("type") != "qcow2":
                raise exception.InternalError(f"Unknown type: {create_info.get('type')}")
            volume_dir, _active = self._volume_files(context, instance, volume_id)
            new_file = os.path.join(volume_dir, create_info["new_file"])
            if not os.path.exists(new_file):
                raise exception.InternalError(f"the new snapshot file {new_file} does not exist")
            metadata = self._volume_api.get(context, volume_id).get("volume_metadata") or {}
            if metadata.get(FAIL_KEY):
                raise exception.InternalError(f"volume {volume_id} has metadata {FAIL_KEY}: "
                                              "this devcloud fails its online snapshots")
        except Exception:
            LOG.exception("Error occurred during volume_snapshot_create, sending error status "
                          "to Cinder.", instance=instance)
            self._update_status(context, snapshot_id, "error")
            raise
        self._update_status(context, snapshot_id, "creating")
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            if self._volume_api.get_snapshot(context, snapshot_id).get("status") != "creating":
                self._refresh_connection_info(context, instance, volume_id)
                return
            time.sleep(POLL_S)
        LOG.warning("Snapshot %s still creating after %d s", snapshot_id, WAIT_S,
                    instance=instance)

    def volume_snapshot_delete(self, context, instance, volume_id, snapshot_id, delete_info):
        LOG.debug("volume_snapshot_delete: delete_info: %s", delete_info, instance=instance)
        try:
            if delete_info.get("type") != "qcow2":
                raise exception.InternalError(f"Unknown delete_info type {delete_info['type']}")
            volume_dir, active = self._volume_files(context, instance, volume_id)
            merge = delete_info.get("file_to_merge")
            target = delete_info.get("merge_target_file")
            if target is None:
                # blockRebase: the active disk pulls in everything above `merge` (its whole
                # chain when `merge` is None) and is rebased onto it
                _rebase(volume_dir, active, merge, safe=True)
            else:
                # blockCommit: `merge` committed into `target`, its overlay rebased onto it
                _qemu_img(volume_dir, "commit", "-f", "qcow2", "-b", target, merge)
                overlay = _overlay_of(volume_dir, active, merge)
                _rebase(volume_dir, overlay, target, safe=False)
        except Exception:
            LOG.exception("Error occurred during volume_snapshot_delete, sending error status "
                          "to Cinder.", instance=instance)
            self._update_status(context, snapshot_id, "error_deleting")
            raise
        self._update_status(context, snapshot_id, "deleting")
        self._refresh_connection_info(context, instance, volume_id)

    # -- helpers ------------------------------------------------------------------------------
    def _update_status(self, context, snapshot_id, status):
        """Cinder's os-update_snapshot_status with progress 90% (libvirt logs failures)."""
        try:
            self._volume_api.update_snapshot_status(context, snapshot_id, status)
        except Exception:
            LOG.exception("Failed to send updated snapshot status to volume service.")

    def _refresh_connection_info(self, context, instance, volume_id):
        bdm = objects.BlockDeviceMapping.get_by_volume_and_instance(
            context, volume_id, instance.uuid)
        driver_bdm = driver_block_device.convert_volume(bdm)
        if driver_bdm:
            driver_bdm.refresh_connection_info(context, instance, self._volume_api, self)

    def _volume_files(self, context, instance, volume_id):
        """(directory of the volume's files on this host, the guest's active file)."""
        bdm = objects.BlockDeviceMapping.get_by_volume_and_instance(
            context, volume_id, instance.uuid)
        info = json.loads(bdm.connection_info or "{}")
        data = info.get("data") or {}
        base = info.get("mount_point_base") or data.get("mount_point_base")
        if info.get("driver_volume_type") != "nfs" or not base or not data.get("export"):
            raise exception.InternalError(f"volume {volume_id} is not an NFS volume with a "
                                          f"mount point base: {info}")
        digest = hashlib.md5(data["export"].encode()).hexdigest()  # noqa: S324 - os-brick's
        return os.path.join(base, digest), data["name"]


def _qemu_img(cwd, *args):
    """qemu-img in the volume's directory (Cinder's backing file names are relative)."""
    done = subprocess.run(["qemu-img", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise exception.InternalError(f"qemu-img {' '.join(args)} failed: "
                                      f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _info(cwd, name):
    return json.loads(_qemu_img(cwd, "info", "--output=json", "-U", name))


def _rebase(cwd, name, backing, safe):
    args = ["rebase", "-f", "qcow2"]
    if not safe:
        args.append("-u")
    if backing is None:
        args += ["-b", ""]
    else:
        args += ["-b", backing, "-F", _info(cwd, backing)["format"]]
    _qemu_img(cwd, *args, name)


def _overlay_of(cwd, active, name):
    """The file of the active chain whose backing file is `name`."""
    current = active
    for _ in range(1000):
        backing = _info(cwd, current).get("backing-filename")
        if backing is None:
            break
        if os.path.basename(backing) == os.path.basename(name):
            return current
        current = backing
    raise exception.InternalError(f"{name} is not in the backing chain of {active}")
