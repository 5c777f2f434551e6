"""The gateway's lazy image hook, its pure part (gateway/images.py): which images a create
names, how they are rewritten to the pod's ids, and what is decided for each."""

import pytest

from multisite.gateway import faults
from multisite.gateway import images as hook

IMG = "11111111-2222-3333-4444-555555555555"
OTHER = "99999999-2222-3333-4444-555555555555"
ACTIVE = {"id": IMG, "status": "active", "checksum": "c"}


def test_a_server_names_its_imageRef_and_its_image_bdms_once():
    server = {"imageRef": IMG, "block_device_mapping_v2": [
        {"source_type": "image", "uuid": IMG, "boot_index": 0},
        {"source_type": "image", "uuid": OTHER},
        {"source_type": "volume", "uuid": "vol"},
        {"source_type": "blank"}, "junk"]}
    assert hook.image_refs(server, service="compute") == [IMG, OTHER]


def test_an_href_names_its_last_segment_and_empty_refs_name_nothing():
    assert hook.image_refs({"imageRef": f"http://glance/v2/images/{IMG}/"},
                           service="compute") == [IMG]
    assert hook.image_refs({"imageRef": ""}, service="compute") == []
    assert hook.image_refs({"imageRef": None}, service="compute") == []
    assert hook.image_refs({"imageRef": 5}, service="compute") == []
    assert hook.image_refs({"imageRef": "a?b=c"}, service="compute") == []   # not an id
    assert hook.image_refs({}, service="compute") == []


def test_a_volume_names_only_its_imageRef():
    volume = {"imageRef": IMG, "block_device_mapping_v2": [{"source_type": "image",
                                                            "uuid": OTHER}]}
    assert hook.image_refs(volume, service="volumev3") == [IMG]


def test_references_are_rewritten_to_the_pods_ids():
    server = {"imageRef": IMG, "block_device_mapping_v2": [
        {"source_type": "image", "uuid": IMG}, {"source_type": "image", "uuid": OTHER},
        {"source_type": "volume", "uuid": IMG}]}
    hook.with_pod_ids(server, {IMG: "pod-id"}, service="compute")
    assert server["imageRef"] == "pod-id"
    assert [b["uuid"] for b in server["block_device_mapping_v2"]] == ["pod-id", OTHER, IMG]
    volume = {"imageRef": IMG}
    hook.with_pod_ids(volume, {IMG: "pod-id"}, service="volumev3")
    assert volume == {"imageRef": "pod-id"}


def _plan(**kw):
    args = {"in_pod": None, "mode": None, "source": "RegionOne", "pod": "RegionTwo",
            "in_source": ACTIVE, "copy": None}
    args.update(kw)
    return hook.plan(**args)


def _copy(state, target_id=IMG):
    return {"id": "c1", "state": state, "target_id": target_id, "reason": None}


def test_an_image_the_pod_has_is_left_alone():
    assert _plan(in_pod={"id": IMG, "status": "active"})[0] == hook.FORWARD


def test_an_image_missing_in_the_pod_is_copied():
    assert _plan() == (hook.COPY, "missing in the pod")
    assert _plan(mode="lazy")[0] == hook.COPY
    assert _plan(mode="auto")[0] == hook.COPY            # not yet there: made now
    # a copy under way (the pod shows it queued/saving, or not yet) is joined
    assert _plan(copy=_copy("copying"), in_pod={"id": IMG, "status": "saving"})[0] == hook.COPY
    assert _plan(copy=_copy("failed"))[0] == hook.COPY    # started again
    assert _plan(in_pod=hook.UNKNOWN)[0] == hook.COPY     # the pod's Glance did not answer


def test_a_pod_without_a_glance_of_its_own_is_left_alone():
    assert _plan(in_pod=hook.NO_GLANCE)[0] == hook.FORWARD


def test_modes_that_forbid_a_lazy_copy_and_no_source_leave_the_create_alone():
    assert _plan(mode="none")[0] == hook.FORWARD
    assert _plan(mode="controlled")[0] == hook.FORWARD
    assert _plan(source=None)[0] == hook.FORWARD
    assert _plan(source="RegionTwo")[0] == hook.FORWARD   # the pod is the source
    # the caller cannot read it in the source: the pod answers (Nova's "image not found")
    assert _plan(in_source=None)[0] == hook.FORWARD


def test_an_active_copy_under_another_id_is_used():
    assert _plan(copy=_copy("active", "other-id")) == (hook.USE, "other-id")
    # the pod's Glance did not answer: the active copy is trusted
    assert _plan(copy=_copy("active"), in_pod=hook.UNKNOWN) == (hook.USE, IMG)


def test_an_active_copy_deleted_in_the_pod_is_made_again():
    assert _plan(copy=_copy("active"), in_pod=None) == (hook.COPY,
                                                        "the copy is gone from the pod")


def test_an_image_not_active_in_the_source_is_a_400():
    with pytest.raises(faults.Fault) as err:
        _plan(in_source={"id": IMG, "status": "queued"})
    assert err.value.status == 400
    assert "queued in RegionOne" in err.value.message and "RegionTwo" in err.value.message
