"""The pure decisions of image distribution: the auto audit, a rollout wave, property ops."""

from multisite.reconcilers import image_distribution as idist

R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
KNOWN = {R1, R2, R3}


def _image(image_id="i1", **kw):
    return {"id": image_id, "name": "base", "status": "active", "checksum": "c", "size": 3,
            "os_hash_algo": "sha512", "os_hash_value": "h", "visibility": "private",
            "multisite_distribution": "auto", **kw}


def _dist(mode="auto", targets=None, propagate_deletes=False):
    return {"mode": mode, "source": R1, "targets": targets,
            "propagate_deletes": propagate_deletes}


def _copy(image_id="i1", region=R2, state="active", origin="auto"):
    return {"id": f"c-{image_id}-{region}", "image_id": image_id, "region": region,
            "source": R1, "state": state, "origin": origin, "target_id": image_id}


def test_an_auto_image_missing_in_the_targets_is_copied_there():
    image = _image()
    actions = idist.plan_audit({None: _dist()}, {R1: [image]}, {}, {R2: {}, R3: {}}, KNOWN)
    assert sorted(a[2] for a in actions) == [R3, R2] and {a[0] for a in actions} == {"copy"}
    assert all(a[1] is image for a in actions)


def test_a_converged_project_needs_nothing_and_an_unreachable_region_is_skipped():
    image = _image()
    copies = {("i1", R2): _copy()}
    actions = idist.plan_audit({None: _dist()}, {R1: [image]}, copies,
                               {R2: {"i1": dict(image)}, R3: None}, KNOWN)
    assert actions == []
    # the source unreachable: no delete is ever decided from an empty listing
    actions = idist.plan_audit({None: _dist(propagate_deletes=True)}, {R1: None}, copies,
                               {R2: {}, R3: {}}, KNOWN)
    assert actions == []


def test_modes_other_than_auto_only_mirror_and_overrides_win():
    image, other = _image(), _image("i2", multisite_distribution=None)
    dists = {None: _dist(), "i1": _dist("lazy")}
    actions = idist.plan_audit(dists, {R1: [image, other]}, {}, {R2: {}, R3: {}}, KNOWN)
    assert ("mirror", R1, "i1", "lazy") in actions
    assert ("mirror", R1, "i2", "auto") in actions
    copies = [a for a in actions if a[0] == "copy"]
    assert sorted(a[2] for a in copies) == [R3, R2] and all(a[1] is other for a in copies)


def test_changed_properties_are_patched_and_a_vanished_copy_restarted():
    image = _image(os_distro="debian")
    there = dict(_image(), os_distro="ubuntu", stale="x")
    copies = {("i1", R2): _copy(), ("i1", R3): _copy(region=R3)}
    actions = idist.plan_audit({None: _dist()}, {R1: [image]}, copies,
                               {R2: {"i1": there}, R3: {}}, KNOWN)
    assert ("update", R2, "i1", [{"op": "replace", "path": "/os_distro", "value": "debian"},
                                 {"op": "remove", "path": "/stale"}]) in actions
    assert ("restart", copies[("i1", R3)]) in actions


def test_deletes_propagate_only_when_asked():
    copies = {("gone", R2): _copy("gone")}
    assert idist.plan_audit({None: _dist()}, {R1: []}, copies, {R2: {}, R3: {}}, KNOWN) == []
    actions = idist.plan_audit({None: _dist(propagate_deletes=True)}, {R1: []}, copies,
                               {R2: {}, R3: {}}, KNOWN)
    assert actions == [("delete", copies[("gone", R2)])]


def test_property_ops_never_touch_fixed_attributes():
    ops = idist.property_ops({"disk_format": "raw", "os_hidden": False, "checksum": "a"},
                             {"disk_format": "qcow2", "os_hidden": True, "checksum": "b"})
    assert ops == []


def test_a_wave_copies_waits_switches_and_fails():
    pending = {"state": "pending"}
    actions, failure = idist.plan_wave({R2: pending, R3: pending}, {R2: None, R3: None})
    assert actions == {R2: "copy", R3: "copy"} and failure is None
    actions, failure = idist.plan_wave(
        {R2: {"state": "copying"}, R3: {"state": "switched"}},
        {R2: dict(_copy(), state="copying"), R3: _copy(region=R3)})
    assert actions == {R2: "wait", R3: "done"} and failure is None
    actions, failure = idist.plan_wave({R2: {"state": "copying"}},
                                       {R2: dict(_copy(), state="active")})
    assert actions == {R2: "switch"}
    actions, failure = idist.plan_wave({R2: {"state": "copying"}},
                                       {R2: dict(_copy(), state="failed", reason="bad sum")})
    assert failure == f"{R2}: bad sum"
    # a failure left by an earlier rollout is copied again, not taken for this one's
    actions, failure = idist.plan_wave({R2: pending}, {R2: dict(_copy(), state="failed")})
    assert actions == {R2: "copy"} and failure is None


def test_member_ops_add_set_status_and_remove():
    source = {"p1": "accepted", "p2": "pending", "p3": "rejected", "p4": "accepted"}
    target = {"p3": "accepted", "p4": "accepted", "gone": "pending"}
    assert idist.member_ops(source, target) == [
        ("add", "p1"), ("status", "p1", "accepted"), ("add", "p2"),
        ("status", "p3", "rejected"), ("remove", "gone")]
    assert idist.member_ops(source, dict(source)) == []


def test_the_audit_checks_the_members_of_shared_images_only():
    shared, private = _image("s1", visibility="shared"), _image("p1")
    copies = {(i, r): _copy(i, r) for i in ("s1", "p1") for r in (R2, R3)}
    there = {"s1": dict(shared), "p1": dict(private)}
    actions = idist.plan_audit({None: _dist()}, {R1: [shared, private]}, copies,
                               {R2: there, R3: dict(there)}, KNOWN)
    assert sorted((a[0], a[1], a[2]["id"], a[3], a[4]) for a in actions) == [
        ("members", R1, "s1", R3, "s1"), ("members", R1, "s1", R2, "s1")]


def test_lazy_and_rollout_copies_have_their_members_checked_too():
    """Members are followed for every mode: a lazy copy and a hidden rollout copy (new id)
    of shared images, with no mode at all or a lazy/controlled one; never twice, never a
    private image, never a copy still copying, never a region unreachable in this audit."""
    lazy, rolled = _image("s1", visibility="shared"), _image("s2", visibility="shared")
    private = _image("p1")
    copies = {("s1", R2): _copy("s1", R2, origin="lazy"),
              ("s1", R3): _copy("s1", R3, origin="lazy", state="copying"),
              ("s2", R2): dict(_copy("s2", R2, origin="rollout"), target_id="new-s2"),
              ("s2", R3): _copy("s2", R3, origin="rollout"),
              ("p1", R2): _copy("p1", R2, origin="lazy")}
    for dists in ({}, {None: _dist("lazy")}, {None: _dist("controlled")}):
        actions = idist.plan_audit(dists, {R1: [lazy, rolled, private]}, copies,
                                   {R3: None}, KNOWN)
        assert sorted((a[0], a[1], a[2]["id"], a[3], a[4]) for a in actions
                      if a[0] == "members") == [
            ("members", R1, "s1", R2, "s1"), ("members", R1, "s2", R2, "new-s2")], dists
    # an auto image's copy is checked once, by the auto part of the plan
    copies = {("s1", R2): _copy("s1", R2, origin="lazy")}
    actions = idist.plan_audit({None: _dist(targets=[R2])}, {R1: [lazy]}, copies,
                               {R2: {"s1": dict(lazy)}}, KNOWN)
    assert [a[0] for a in actions] == ["members"]


def test_a_wave_with_a_boot_check_boots_before_it_switches():
    copying = {"state": "copying"}
    boot = {"flavor": "f", "network": None, "timeout": 60, "state": "pending"}
    actions, failure = idist.plan_wave({R2: dict(copying, boot=boot), R3: copying},
                                       {R2: _copy(), R3: _copy(region=R3)})
    assert actions == {R2: "boot", R3: "switch"} and failure is None
    actions, _ = idist.plan_wave({R2: dict(copying, boot=dict(boot, state="passed"))},
                                 {R2: _copy()})
    assert actions == {R2: "switch"}
    actions, _ = idist.plan_wave({R2: dict(copying, boot=boot)},
                                 {R2: dict(_copy(), state="copying")})
    assert actions == {R2: "wait"}                  # no boot before the copy is verified


def test_plan_boot_creates_waits_passes_fails_and_times_out():
    check = {"timeout": 60}
    assert idist.plan_boot(check, {}, None) == ("create", [])
    assert idist.plan_boot(check, {}, 10) == ("create", [])      # vanished: boot again
    assert idist.plan_boot(check, {"s1": "BUILD"}, 10) == ("wait", ["s1"])
    assert idist.plan_boot(check, {"s1": "BUILD", "s2": "ACTIVE"}, 10) == (
        "passed", ["s1", "s2"])
    assert idist.plan_boot(check, {"s1": "ERROR"}, 10) == ("failed", ["s1"])
    assert idist.plan_boot(check, {"s1": "BUILD"}, 61) == ("timeout", ["s1"])
    assert idist.plan_boot(check, {}, 61) == ("timeout", [])
