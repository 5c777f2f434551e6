"""multisite image distribution|ensure|rollout against the in-process API and engine,
Glance in memory."""

import time

import pytest

from tests.unit.reconcilers.fake_regions import FakeCloud


@pytest.fixture
def cloud(monkeypatch, conf):
    conf.set_override("scan_interval", 0.05, group="image_distribution")
    conf.set_override("rollout_poll", 0.05, group="image_distribution")
    yield FakeCloud().install(monkeypatch)
    conf.clear_override("scan_interval", group="image_distribution")
    conf.clear_override("rollout_poll", group="image_distribution")


def test_distribution_and_ensure_commands(cli, cloud, project_id):
    image = cloud.add_image("RegionOne", owner=project_id.replace("-", ""))
    code, out, err = cli("image", "distribution", "set", "lazy", "--source", "RegionOne",
                         "-f", "value")
    assert code == 0, err
    assert out.split() == ["(project", "default)", "lazy", "RegionOne", "all", "False"]
    code, out, err = cli("image", "distribution", "set", "none", "--source", "RegionOne",
                         "--image", image["id"], "--target", "RegionTwo", "-f", "value",
                         "-c", "MODE", "-c", "TARGETS")
    assert code == 0 and out.split() == ["none", "RegionTwo"], err
    code, out, err = cli("image", "distribution", "list", "-f", "value", "-c", "MODE")
    assert code == 0 and sorted(out.split()) == ["lazy", "none"]
    code, out, err = cli("image", "distribution", "unset", "--image", image["id"])
    assert code == 0, err
    code, out, err = cli("image", "distribution", "show", "--image", image["id"])
    assert code == 1 and "image_distribution.not_found" in err
    code, out, err = cli("image", "ensure", image["id"], "--region", "RegionTwo", "--wait",
                         "-f", "value", "-c", "STATE")
    assert code == 0 and out.strip() == "active", err
    assert cloud.images["RegionTwo"][image["id"]]["checksum"] == image["checksum"]
    code, out, err = cli("image", "ensure", image["id"], "--region", "Nowhere")
    assert code == 1 and "image.unknown_region" in err


def _wait_succeeded(cli):
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        code, out, err = cli("image", "rollout", "list", "-f", "value", "-c", "STATE")
        if out.strip() in ("succeeded", "rolled_back"):
            break
        time.sleep(0.1)
    assert out.strip() == "succeeded", (out, err)


def test_rollout_commands(cli, cloud, project_id):
    owner = project_id.replace("-", "")
    old = cloud.add_image("RegionTwo", owner=owner, name="os", data=b"old")
    new = cloud.add_image("RegionOne", owner=owner, name="os", data=b"new")
    code, out, err = cli("image", "rollout", "start", new["id"], "--source", "RegionOne",
                         "--wave", "RegionTwo", "--manual-promote", "-f", "value", "-c", "ID")
    assert code == 0, err
    rollout_id = out.strip()
    _wait_succeeded(cli)
    code, out, err = cli("image", "rollout", "show", rollout_id, "-f", "value")
    assert code == 0 and f"1 RegionTwo switched {old['id']} {new['id']}" in out, out
    code, out, err = cli("image", "rollout", "promote", rollout_id)
    assert code == 1 and "image_rollout.invalid_state" in err
    code, out, err = cli("image", "rollout", "rollback", rollout_id, "--reason", "smoke",
                         "-f", "value", "-c", "STATE")
    assert code == 0 and out.strip() in ("rolling_back", "rolled_back"), err


def test_rollout_start_with_a_boot_check(cli, cloud, project_id):
    owner = project_id.replace("-", "")
    cloud.add_image("RegionTwo", owner=owner, name="os", data=b"old")
    new = cloud.add_image("RegionOne", owner=owner, name="os", data=b"new")
    cloud.add_flavor("RegionTwo", "devcloud.tiny")
    code, out, err = cli("image", "rollout", "start", new["id"], "--source", "RegionOne",
                         "--wave", "RegionTwo", "--boot-check", "RegionTwo=devcloud.tiny,net-1",
                         "-f", "value", "-c", "ID")
    assert code == 0, err
    _wait_succeeded(cli)
    booted = [c for c in cloud.calls if c[1].startswith("create server")]
    assert [r for r, _ in booted] == ["RegionTwo"]
    code, out, err = cli("image", "rollout", "start", new["id"], "--source", "RegionOne",
                         "--wave", "RegionTwo", "--boot-check", "RegionTwo")
    assert code == 1 and "expected <region>=<flavor>" in err
