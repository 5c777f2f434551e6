"""The full profile refuses to start without the host programs its services run (a missing
mount.nfs left cinder-volume without a pool while `up` reported success)."""

import os

from multisite.devcloud import full_setup


def _tool(directory, name):
    path = directory / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)


def test_missing_host_tools_names_the_packages(tmp_path, monkeypatch):
    monkeypatch.setattr(full_setup, "HOST_TOOLS", (("ms-test-mount", "nfs-common"),
                                                   ("ms-test-qemu", "qemu-utils")))
    assert full_setup.missing_host_tools(str(tmp_path)) == ["nfs-common", "qemu-utils"]
    _tool(tmp_path, "ms-test-qemu")
    assert full_setup.missing_host_tools(str(tmp_path)) == ["nfs-common"]
    _tool(tmp_path, "ms-test-mount")
    assert full_setup.missing_host_tools(os.pathsep.join(["/nonexistent", str(tmp_path)])) == []
