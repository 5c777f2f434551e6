"""Image distribution against the in-process app and engine, Glance in memory
(tests/unit/reconcilers/fake_regions.py): modes, auto audit, lazy ensure (20 concurrent
callers, one copy), controlled rollouts (waves, corruption, rollback, promote), 4xx answers
and personas. The same stories run against the devcloud's real Glance in
tests/integration/test_images.py."""

import collections
import concurrent.futures
import threading
import time
import uuid

import pytest

from multisite.clients import session as region_errors
from tests.functional.test_sync_jobs_api import call
from tests.unit.reconcilers.fake_regions import FakeCloud, FakeImage

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
USER = uuid.uuid4().hex


@pytest.fixture
def cloud(monkeypatch):
    return FakeCloud().install(monkeypatch)


@pytest.fixture
def app(cloud, conf, request):
    for name, value in (("scan_interval", 0.05), ("rollout_poll", 0.05),
                        ("gate_retry", 0.05), ("audit_interval", 3600)):
        conf.set_override(name, value, group="image_distribution")
    yield request.getfixturevalue("wsgi_app")
    for name in ("scan_interval", "rollout_poll", "gate_retry", "audit_interval"):
        conf.clear_override(name, group="image_distribution")


@pytest.fixture
def kinds(app, request):
    return request.getfixturevalue("engine").engine


def wait_for(check, timeout=15, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def creates(cloud, region):
    return sum(1 for r, what in cloud.calls if r == region and what == "create image")


def _dist(mode="auto", **kw):
    return {"image_distribution": {"mode": mode, "source": R1, **kw}}


def test_distribution_modes_story(app, cloud):
    project = uuid.uuid4().hex
    image = cloud.add_image(R1, owner=project)
    status, body = call(app, "PUT", "/v2/image-distributions/default", _dist("lazy"),
                        project=project)
    assert status == 200, body
    dist = body["image_distribution"]
    assert dist["mode"] == "lazy" and dist["scope"] == "project" and dist["targets"] == "all"
    status, body = call(app, "PUT", f"/v2/image-distributions/{image['id']}",
                        _dist("none", targets=[R2]), project=project)
    assert status == 200, body
    assert body["image_distribution"]["image_id"] == image["id"]
    status, body = call(app, "GET", "/v2/image-distributions", project=project, roles="reader")
    assert status == 200
    assert sorted((d["scope"], d["mode"]) for d in body["image_distributions"]) == [
        ("image", "none"), ("project", "lazy")]
    status, body = call(app, "GET", "/v2/image-distributions?limit=1", project=project)
    assert len(body["image_distributions"]) == 1
    following = body["links"][0]["href"].split("/v2/image-distributions")[1]
    status, body = call(app, "GET", "/v2/image-distributions" + following, project=project)
    assert status == 200 and len(body["image_distributions"]) == 1 and body["links"] == []
    status, body = call(app, "GET", f"/v2/image-distributions/{image['id']}", project=project)
    assert status == 200 and body["image_distribution"]["targets"] == [R2]
    other = uuid.uuid4().hex
    assert call(app, "GET", "/v2/image-distributions/default", project=other)[0] == 404
    assert call(app, "GET", "/v2/image-distributions", project=other)[1][
        "image_distributions"] == []
    status, body = call(app, "DELETE", f"/v2/image-distributions/{image['id']}",
                        project=project)
    assert status == 200
    status, body = call(app, "GET", f"/v2/image-distributions/{image['id']}", project=project)
    assert status == 404 and body["error"]["code"] == "image_distribution.not_found"


@pytest.mark.parametrize("path,body,code", [
    ("/v2/image-distributions/default", _dist("sometimes"), "image_distribution.invalid"),
    ("/v2/image-distributions/default", _dist(targets=[]), "image_distribution.invalid"),
    ("/v2/image-distributions/default", _dist(extra=1), "image_distribution.invalid"),
    ("/v2/image-distributions/default", _dist(targets=["Nowhere"]), "image.unknown_region"),
    ("/v2/image-distributions/default", _dist(targets=[R1]), "image.invalid"),
    ("/v2/image-distributions/bad%20id", _dist(), "image.invalid"),
    ("/v2/image-distributions/default", {"image_distribution": []},
     "image_distribution.invalid"),
    ("/v2/images/x/ensure", {"region": R2}, "image.source_required"),
    ("/v2/images/x/ensure", {"region": R2, "wait": "yes"}, "image.invalid"),
    ("/v2/images/x/ensure", {"region": "Nowhere", "source": R1}, "image.unknown_region"),
    ("/v2/image-rollouts", {"image_rollout": {"image_id": "x", "source": R1, "waves": []}},
     "image_rollout.invalid"),
    ("/v2/image-rollouts", {"image_rollout": {"image_id": "x", "source": R1,
                                              "waves": [[R2], [R2]]}},
     "image_rollout.invalid"),
])
def test_bad_requests_are_400_and_write_nothing(app, path, body, code):
    project = uuid.uuid4().hex
    method = "PUT" if "distributions" in path else "POST"
    status, answer = call(app, method, path, body, project=project)
    assert status == 400 and answer["error"]["code"] == code, answer
    assert call(app, "GET", "/v2/image-distributions", project=project)[1][
        "image_distributions"] == []
    assert call(app, "GET", "/v2/image-rollouts", project=project)[1]["image_rollouts"] == []


def test_ensure_of_an_image_the_project_cannot_see_is_404(app, cloud):
    image = cloud.add_image(R1, owner=uuid.uuid4().hex)
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                        {"region": R2, "source": R1}, project=uuid.uuid4().hex)
    assert status == 404 and body["error"]["code"] == "image.not_found"
    assert image["id"] not in cloud.images[R2]


def test_lazy_twenty_concurrent_ensures_make_one_copy(app, cloud):
    project = uuid.uuid4().hex
    call(app, "PUT", "/v2/image-distributions/default", _dist("lazy"), project=project)
    image = cloud.add_image(R1, owner=project, data=b"x" * 300_000, hw_disk_bus="virtio")

    def ensure(_):
        return call(app, "POST", f"/v2/images/{image['id']}/ensure",
                    {"region": R2, "wait": True, "timeout": 30}, project=project)

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(ensure, range(20)))
    assert {status for status, _ in answers} == {200}, answers
    copies = {body["image_copy"]["id"] for _, body in answers}
    assert len(copies) == 1
    assert {body["image_copy"]["state"] for _, body in answers} == {"active"}
    assert creates(cloud, R2) == 1
    copied = cloud.images[R2][image["id"]]
    assert copied["checksum"] == image["checksum"] and copied["hw_disk_bus"] == "virtio"
    assert image["id"] not in cloud.images[R3] and creates(cloud, R3) == 0
    # an ensure of a present copy answers at once, without a copy
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure", {"region": R2},
                        project=project)
    assert status == 200 and body["image_copy"]["state"] == "active"
    assert creates(cloud, R2) == 1


def test_a_copy_waits_while_its_source_is_unreachable(app, cloud, kinds):
    """An unreachable region is a temporary error: the copy is retried, never failed."""
    project = uuid.uuid4().hex
    image = cloud.add_image(R1, owner=project)
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                        {"region": R2, "source": R1}, project=project)
    assert status == 200, body
    copy_id = body["image_copy"]["id"]
    cloud.down.add(R1)
    try:
        wait_for(lambda: any(r == R1 and what.startswith("get image") for r, what in
                             cloud.calls[-50:]), what="an attempt while R1 is down")
        time.sleep(0.3)
        status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                            {"region": R2, "source": R1}, project=project)
        assert body["image_copy"]["id"] == copy_id
        assert body["image_copy"]["state"] in ("pending", "copying"), body
    finally:
        cloud.down.discard(R1)
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                        {"region": R2, "source": R1, "wait": True, "timeout": 30},
                        project=project)
    assert body["image_copy"]["state"] == "active", body


class CountingUploads:
    """FakeImage.upload instrumented: counts the uploads in flight per region (a copy from
    RegionOne counts in RegionOne and in its target) and keeps the highest counts. Each
    upload holds until more than `limit` are in flight in its source, or 0.5 s: with the
    limit honoured it always waits the 0.5 s; without it the copies waiting for a worker
    pile in at once (a synchronization, not a timing assertion)."""

    def __init__(self, limit):
        self.limit = limit
        self.cond = threading.Condition()
        self.now = collections.Counter()
        self.peak = collections.Counter()
        self.real = FakeImage.upload

    def __call__(self, image, image_id, stream, *, size):
        regions = (R1, image.region)
        with self.cond:
            for region in regions:
                self.now[region] += 1
                self.peak[region] = max(self.peak[region], self.now[region])
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.now[R1] > self.limit, timeout=0.5)
        try:
            return self.real(image, image_id, stream, size=size)
        finally:
            with self.cond:
                for region in regions:
                    self.now[region] -= 1


@pytest.mark.parametrize("limit", [1, 3])
def test_copies_per_region_never_exceed_region_concurrency(app, cloud, conf, monkeypatch,
                                                           limit):
    """[image_distribution] region_concurrency: 10 copies (5 images to 2 regions) with 8
    workers; at most `limit` run at once from RegionOne and into each target."""
    conf.set_override("region_concurrency", limit, group="image_distribution")
    counting = CountingUploads(limit)
    monkeypatch.setattr(FakeImage, "upload",
                        lambda self, image_id, stream, *, size: counting(
                            self, image_id, stream, size=size))
    project = uuid.uuid4().hex
    images = [cloud.add_image(R1, owner=project) for _ in range(5)]
    for image in images:
        for region in (R2, R3):
            status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                                {"region": region, "source": R1}, project=project)
            assert status == 200, body
    for image in images:
        for region in (R2, R3):
            wait_for(lambda i=image, r=region: cloud.images[r].get(i["id"], {}).get(
                "status") == "active", timeout=60, what=f"copy in {region}")
    conf.clear_override("region_concurrency", group="image_distribution")
    assert counting.peak[R1] == limit, dict(counting.peak)
    assert counting.peak[R2] <= limit and counting.peak[R3] <= limit, dict(counting.peak)


def test_copies_of_one_image_at_once_read_the_source_once(app, cloud, monkeypatch):
    """Fan-out: an image ensured in RegionTwo and RegionThree at once is downloaded from
    RegionOne once; each copy gets the whole data, verified. The uploads meet at a barrier
    (both copies are streaming at the same time), so the test does not depend on timing."""
    barrier, real = threading.Barrier(2, timeout=10), FakeImage.upload

    def upload(self, image_id, stream, *, size):
        barrier.wait()
        return real(self, image_id, stream, size=size)

    monkeypatch.setattr(FakeImage, "upload", upload)
    project = uuid.uuid4().hex
    image = cloud.add_image(R1, owner=project, data=bytes(range(256)) * 8000)
    for region in (R2, R3):
        status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                            {"region": region, "source": R1}, project=project)
        assert status == 200, body
    for region in (R2, R3):
        copied = wait_for(lambda r=region: cloud.images[r].get(image["id"], {}).get(
            "status") == "active" and cloud.images[r][image["id"]], what=f"copy in {region}")
        assert copied["checksum"] == image["checksum"]
        assert cloud.data[region][image["id"]] == cloud.data[R1][image["id"]]
    downloads = [w for r, w in cloud.calls if r == R1 and w.startswith("download")]
    assert downloads == [f"download image {image['id']}"], downloads


def test_auto_copies_new_images_and_repairs_properties(app, cloud, kinds):
    project = uuid.uuid4().hex
    status, body = call(app, "PUT", "/v2/image-distributions/default", _dist("auto"),
                        project=project)
    assert status == 200, body
    image = cloud.add_image(R1, owner=project, name="base", os_distro="ubuntu")
    kinds.resync("image_distribution")
    for region in (R2, R3):
        copied = wait_for(lambda r=region: cloud.images[r].get(image["id"], {}).get(
            "status") == "active" and cloud.images[r][image["id"]], what=f"copy in {region}")
        assert copied["checksum"] == image["checksum"]
        assert copied["os_distro"] == "ubuntu" and copied["name"] == "base"
    assert cloud.images[R1][image["id"]]["multisite_distribution"] == "auto"
    # a property changed in the source is repaired in the targets by the next audit
    cloud.images[R1][image["id"]]["os_distro"] = "debian"
    kinds.resync("image_distribution")
    kinds.resync("image_distribution")
    for region in (R2, R3):
        assert cloud.images[region][image["id"]]["os_distro"] == "debian"
        assert cloud.images[region][image["id"]]["multisite_distribution"] == "auto"
    assert creates(cloud, R2) == 1 and creates(cloud, R3) == 1
    # an image overridden to "none" is left alone
    manual = cloud.add_image(R1, owner=project, name="manual")
    call(app, "PUT", f"/v2/image-distributions/{manual['id']}", _dist("none"),
         project=project)
    kinds.resync("image_distribution")
    assert manual["id"] not in cloud.images[R2]
    assert cloud.images[R1][manual["id"]]["multisite_distribution"] == "none"


def _members(cloud, region, image_id):
    return {m: s for (i, m), s in cloud.members[region].items() if i == image_id}


def test_members_of_a_shared_image_follow_it(app, cloud, kinds):
    """A shared image's members and their status are copied with it (lazy and auto), and
    the auto audit repairs them after a change in the source."""
    project, a, b, c = (uuid.uuid4().hex for _ in range(4))
    image = cloud.add_image(R1, owner=project, visibility="shared")
    cloud.members[R1].update({(image["id"], a): "accepted", (image["id"], b): "pending",
                              (image["id"], c): "rejected"})
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                        {"region": R2, "source": R1, "wait": True, "timeout": 30},
                        project=project)
    assert body["image_copy"]["state"] == "active", body
    assert _members(cloud, R2, image["id"]) == {a: "accepted", b: "pending", c: "rejected"}
    # auto: the copy in RegionThree gets them, then a change in the source follows
    call(app, "PUT", f"/v2/image-distributions/{image['id']}", _dist("auto"),
         project=project)
    kinds.resync("image_distribution")
    wait_for(lambda: cloud.images[R3].get(image["id"], {}).get("status") == "active",
             what="copy in RegionThree")
    assert _members(cloud, R3, image["id"]) == _members(cloud, R1, image["id"])
    del cloud.members[R1][(image["id"], a)]
    cloud.members[R1][(image["id"], b)] = "accepted"
    kinds.resync("image_distribution")
    for region in (R2, R3):
        assert _members(cloud, region, image["id"]) == {b: "accepted", c: "rejected"}, region
    # converged: the next audit only looks at the members, it changes none
    cloud.calls.clear()
    kinds.resync("image_distribution")
    assert not [w for _, w in cloud.calls if "member" in w and "list" not in w]


def test_members_of_lazy_and_rollout_copies_follow_the_source_too(app, cloud, kinds):
    """No mode at all: a lazy ensure copies a shared image to RegionTwo, a rollout copies
    another to RegionThree (hidden, then switched); member changes in the source reach
    both copies with the next audit."""
    project, a, b = (uuid.uuid4().hex for _ in range(3))
    lazy = cloud.add_image(R1, owner=project, visibility="shared")
    rolled = cloud.add_image(R1, owner=project, name="golden", visibility="shared")
    for image in (lazy, rolled):
        cloud.members[R1][(image["id"], a)] = "accepted"
    status, body = call(app, "POST", f"/v2/images/{lazy['id']}/ensure",
                        {"region": R2, "source": R1, "wait": True, "timeout": 30},
                        project=project)
    assert body["image_copy"]["state"] == "active", body
    rollout_id = _rollout(app, project, rolled["id"], waves=[[R3]])
    assert _final(app, project, rollout_id)["state"] == "succeeded"
    for region, image in ((R2, lazy), (R3, rolled)):
        assert _members(cloud, region, image["id"]) == {a: "accepted"}
    for image in (lazy, rolled):
        cloud.members[R1][(image["id"], a)] = "rejected"
        cloud.members[R1][(image["id"], b)] = "accepted"
    kinds.resync("image_distribution")
    for region, image in ((R2, lazy), (R3, rolled)):
        assert _members(cloud, region, image["id"]) == {a: "rejected", b: "accepted"}, region
    for image in (lazy, rolled):
        del cloud.members[R1][(image["id"], a)]
    kinds.resync("image_distribution")
    for region, image in ((R2, lazy), (R3, rolled)):
        assert _members(cloud, region, image["id"]) == {b: "accepted"}, region


def test_a_member_glance_refuses_leaves_the_copy_usable_with_the_reason(app, cloud,
                                                                         monkeypatch):
    def refuse(self, image_id, project_id, status):
        raise region_errors.Forbidden(self.region, "not allowed", status=403)

    monkeypatch.setattr(FakeImage, "set_member_status", refuse)
    project, member = uuid.uuid4().hex, uuid.uuid4().hex
    image = cloud.add_image(R1, owner=project, visibility="shared")
    cloud.members[R1][(image["id"], member)] = "accepted"
    status, body = call(app, "POST", f"/v2/images/{image['id']}/ensure",
                        {"region": R2, "source": R1, "wait": True, "timeout": 30},
                        project=project)
    copy = body["image_copy"]
    assert copy["state"] == "active" and "members not propagated" in copy["reason"], body
    assert _members(cloud, R2, image["id"]) == {member: "pending"}


def test_auto_propagates_deletes_only_when_asked(app, cloud, kinds):
    project = uuid.uuid4().hex
    call(app, "PUT", "/v2/image-distributions/default",
         _dist("auto", targets=[R2], propagate_deletes=True), project=project)
    kept = cloud.add_image(R1, owner=project, name="kept")
    call(app, "PUT", f"/v2/image-distributions/{kept['id']}", _dist("auto", targets=[R2]),
         project=project)
    gone = cloud.add_image(R1, owner=project, name="gone")
    kinds.resync("image_distribution")
    for image in (kept, gone):
        wait_for(lambda i=image: cloud.images[R2].get(i["id"], {}).get("status") == "active",
                 what="copy")
    del cloud.images[R1][gone["id"]]
    del cloud.images[R1][kept["id"]]
    kinds.resync("image_distribution")
    assert gone["id"] not in cloud.images[R2]
    assert kept["id"] in cloud.images[R2]          # its own mode does not propagate deletes


def _rollout(app, project, image_id, **kw):
    spec = {"image_id": image_id, "source": R1, "waves": [[R2], [R3]], **kw}
    status, body = call(app, "POST", "/v2/image-rollouts", {"image_rollout": spec},
                        project=project)
    assert status == 202, body
    return body["image_rollout"]["id"]


def _show(app, project, rollout_id):
    status, body = call(app, "GET", f"/v2/image-rollouts/{rollout_id}", project=project)
    assert status == 200, body
    return body["image_rollout"]


def _final(app, project, rollout_id, states=("succeeded", "rolled_back", "waiting")):
    return wait_for(lambda: (r := _show(app, project, rollout_id))["state"] in states and r,
                    what="rollout state")


def _visible(cloud, region, name):
    return sorted(i["id"] for i in cloud.images[region].values()
                  if i["name"] == name and not i.get("os_hidden"))


def _versions(cloud, project):
    old = {r: cloud.add_image(r, owner=project, name="os", data=b"old" * 1000)["id"]
           for r in (R2, R3)}
    new = cloud.add_image(R1, owner=project, name="os", data=b"new" * 2000)
    return old, new


def test_rollout_in_waves_succeeds_then_rolls_back(app, cloud):
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    rollout_id = _rollout(app, project, new["id"])
    done = _final(app, project, rollout_id)
    assert done["state"] == "succeeded", done
    assert [w["state"] for w in done["waves"]] == ["done", "done"]
    for region in (R2, R3):
        assert _visible(cloud, region, "os") == [new["id"]]
        assert cloud.images[region][old[region]]["os_hidden"] is True
        assert cloud.images[region][new["id"]]["checksum"] == new["checksum"]
    status, body = call(app, "POST", f"/v2/image-rollouts/{rollout_id}/rollback",
                        {"reason": "bad kernel"}, project=project)
    assert status == 202, body
    done = _final(app, project, rollout_id, states=("rolled_back",))
    assert "bad kernel" in done["reason"]
    for region in (R2, R3):
        assert _visible(cloud, region, "os") == [old[region]]
        assert cloud.images[region][new["id"]]["os_hidden"] is True      # hidden, kept
    status, body = call(app, "POST", f"/v2/image-rollouts/{rollout_id}/promote",
                        project=project)
    assert status == 409 and body["error"]["code"] == "image_rollout.invalid_state"


def test_a_corrupted_copy_stops_the_rollout_before_the_next_wave(app, cloud, kinds):
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    kinds.controllers["image_copy"].shared.corrupt.add(R2)
    try:
        rollout_id = _rollout(app, project, new["id"])
        done = _final(app, project, rollout_id)
    finally:
        kinds.controllers["image_copy"].shared.corrupt.discard(R2)
    assert done["state"] == "rolled_back", done
    assert "wave 1 failed" in done["reason"] and "verification failed" in done["reason"]
    assert _visible(cloud, R2, "os") == [old[R2]]
    assert new["id"] not in cloud.images[R2]            # the damaged copy was deleted
    assert _visible(cloud, R3, "os") == [old[R3]] and creates(cloud, R3) == 0
    assert [w["state"] for w in done["waves"]][1] == "pending"


def _boot_checks(cloud, project, *regions):
    for region in regions:
        cloud.add_flavor(region, "devcloud.tiny")
    return {r: {"flavor": "devcloud.tiny", "network": f"net-{r}"} for r in regions}


def test_a_boot_check_per_region_passes_before_the_switch(app, cloud):
    """boot_check: in each region of a wave a server boots from the new (still hidden)
    copy, with the region's flavor and network; once ACTIVE it is deleted and the region
    switches. Regions without a boot check switch as before."""
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    rollout_id = _rollout(app, project, new["id"], boot_check=_boot_checks(cloud, project, R2))
    done = _final(app, project, rollout_id)
    assert done["state"] == "succeeded", done
    booted = [c for c in cloud.calls if c[1].startswith("create server")]
    assert [r for r, _ in booted] == [R2], booted
    assert cloud.servers[R2] == {} and cloud.servers[R3] == {}     # deleted after the check
    region = done["waves"][0]["regions"][0]
    assert region["boot"]["state"] == "passed" and region["boot"]["network"] == f"net-{R2}"
    assert "boot" not in done["waves"][1]["regions"][0]
    for region in (R2, R3):
        assert _visible(cloud, region, "os") == [new["id"]]


def test_a_failing_boot_check_fails_the_wave_and_rolls_back(app, cloud):
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    cloud.boot_result[R2] = "ERROR"
    rollout_id = _rollout(app, project, new["id"],
                          boot_check=_boot_checks(cloud, project, R2, R3))
    done = _final(app, project, rollout_id)
    assert done["state"] == "rolled_back", done
    assert "wave 1 failed: RegionTwo: boot check: server" in done["reason"], done
    assert "No valid host was found." in done["reason"]
    assert cloud.servers[R2] == {}                                  # deleted after the check
    assert _visible(cloud, R2, "os") == [old[R2]]
    assert cloud.images[R2][new["id"]]["os_hidden"] is True         # never switched
    assert _visible(cloud, R3, "os") == [old[R3]] and creates(cloud, R3) == 0
    assert not [c for c in cloud.calls if c == (R3, "create server")]


def test_a_boot_check_naming_a_missing_flavor_fails_the_wave(app, cloud):
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    rollout_id = _rollout(app, project, new["id"], waves=[[R2]],
                          boot_check={R2: {"flavor": "no-such-flavor"}})
    done = _final(app, project, rollout_id)
    assert done["state"] == "rolled_back" and "no flavor no-such-flavor" in done["reason"]
    assert _visible(cloud, R2, "os") == [old[R2]]
    status, body = call(app, "POST", "/v2/image-rollouts", {"image_rollout": {
        "image_id": new["id"], "source": R1, "waves": [[R2]],
        "boot_check": {R3: {"flavor": "x"}}}}, project=project)
    assert status == 400 and "boot_check region is in no wave" in body["error"]["message"]


def test_manual_promote_and_abort(app, cloud):
    project = uuid.uuid4().hex
    old, new = _versions(cloud, project)
    rollout_id = _rollout(app, project, new["id"], manual_promote=True)
    waiting = _final(app, project, rollout_id)
    assert waiting["state"] == "waiting" and "promote" in waiting["reason"]
    assert _visible(cloud, R2, "os") == [new["id"]] and _visible(cloud, R3, "os") == [old[R3]]
    assert call(app, "POST", f"/v2/image-rollouts/{rollout_id}/promote", project=project,
                roles="reader")[0] == 403
    status, _ = call(app, "POST", f"/v2/image-rollouts/{rollout_id}/promote", project=project)
    assert status == 202
    assert _final(app, project, rollout_id, states=("succeeded",))["state"] == "succeeded"
    # a second rollout of another version, aborted while it waits
    newer = cloud.add_image(R1, owner=project, name="os", data=b"newer" * 999)
    second = _rollout(app, project, newer["id"], manual_promote=True)
    assert _final(app, project, second)["state"] == "waiting"
    status, _ = call(app, "POST", f"/v2/image-rollouts/{second}/abort", project=project)
    assert status == 202
    done = _final(app, project, second, states=("rolled_back",))
    assert done["reason"].startswith("aborted by user")
    assert _visible(cloud, R2, "os") == [new["id"]]
    assert _visible(cloud, R3, "os") == [new["id"]]


def test_personas(app, cloud):
    project = uuid.uuid4().hex
    image = cloud.add_image(R1, owner=project)
    for roles in ("reader", ""):
        assert call(app, "PUT", "/v2/image-distributions/default", _dist(), project=project,
                    roles=roles)[0] == 403
        assert call(app, "POST", f"/v2/images/{image['id']}/ensure",
                    {"region": R2, "source": R1}, project=project, roles=roles)[0] == 403
        assert call(app, "POST", "/v2/image-rollouts", {"image_rollout": {
            "image_id": image["id"], "source": R1, "waves": [[R2]]}}, project=project,
            roles=roles)[0] == 403
    rollout_id = _rollout(app, project, image["id"], waves=[[R2]])
    assert call(app, "GET", f"/v2/image-rollouts/{rollout_id}", project=project,
                roles="reader")[0] == 200
    assert call(app, "GET", f"/v2/image-rollouts/{rollout_id}",
                project=uuid.uuid4().hex)[0] == 404
    assert call(app, "POST", f"/v2/image-rollouts/{rollout_id}/abort",
                project=uuid.uuid4().hex)[0] == 404
    assert call(app, "GET", "/v2/image-rollouts?all_projects=true", project=project)[0] == 403
    status, body = call(app, "GET", "/v2/image-rollouts?all_projects=true",
                        project=uuid.uuid4().hex, roles="admin")
    assert status == 200 and rollout_id in [r["id"] for r in body["image_rollouts"]]
    assert call(app, "GET", "/v2/image-distributions?all_projects=true",
                project=uuid.uuid4().hex, roles="admin")[0] == 200
