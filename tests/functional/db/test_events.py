"""objects/events: the event feed's store, filters, pagination and retention on three backends."""

import datetime

import pytest
import sqlalchemy as sa

from multisite.db import api as db_api
from multisite.db import migration, models
from multisite.objects import events

P1 = "a" * 32
P2 = "b" * 32
T0 = datetime.datetime(2026, 12, 1, 12, 0, 0)


@pytest.fixture
def synced(conf, backend_url):
    migration.db_sync(conf)
    return conf


def event(n, **fields):
    values = {"message_id": f"msg-{n}", "region": "RegionOne", "project_id": P1,
              "event_type": "compute.instance.create.end", "resource_id": f"vm-{n}",
              "generated_at": T0 + datetime.timedelta(minutes=n), "payload": {"n": n}}
    values.update(fields)
    return values


def count(conf):
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(models.Event))


def test_duplicates_are_stored_once(synced):
    assert events.store(synced, [event(1), event(2)]) == 2
    # A redelivery (same message ids), also within one batch, adds nothing.
    assert events.store(synced, [event(1), event(2), event(3), event(3)]) == 1
    assert count(synced) == 3


def test_filters_and_pagination(synced):
    events.store(synced, [event(n) for n in range(5)])
    events.store(synced, [event(n, project_id=P2, region="RegionTwo",
                                event_type="volume.create.end") for n in range(5, 8)])
    found, more = events.list_events(synced, project_id=P1, limit=3)
    assert [e["payload"]["n"] for e in found] == [4, 3, 2] and more
    found, more = events.list_events(synced, project_id=P1, limit=3, marker=found[-1]["id"])
    assert [e["payload"]["n"] for e in found] == [1, 0] and not more
    found, _ = events.list_events(synced, region="RegionTwo", limit=10, newest_first=False)
    assert [e["payload"]["n"] for e in found] == [5, 6, 7]
    found, _ = events.list_events(synced, event_type="volume.*", limit=10)
    assert {e["project_id"] for e in found} == {P2}
    # "_" and "%" in a prefix are literal characters.
    assert events.list_events(synced, event_type="volume_*", limit=10)[0] == []
    found, _ = events.list_events(synced, since=T0 + datetime.timedelta(minutes=2),
                                  until=T0 + datetime.timedelta(minutes=4), limit=10)
    assert sorted(e["payload"]["n"] for e in found) == [2, 3]
    found, _ = events.list_events(synced, resource_id="vm-6", limit=10)
    assert [e["message_id"] for e in found] == ["msg-6"]
    assert events.get(synced, found[0]["id"], project_id=P1) is None
    assert events.get(synced, found[0]["id"], project_id=P2)["region"] == "RegionTwo"


def test_long_fields_are_cut_and_large_payloads_replaced(synced):
    events.store(synced, [event(1, resource_id="r" * 400, payload={"x": "y" * 20000})])
    (stored,), _ = events.list_events(synced, limit=1)
    assert len(stored["resource_id"]) == 255
    assert stored["payload"]["truncated"] is True


def test_retention_by_count_and_age(synced):
    events.store(synced, [event(n) for n in range(10)])
    assert events.prune(synced, max_age=0, max_count=4, batch=3) == 6
    found, _ = events.list_events(synced, limit=100)
    assert [e["payload"]["n"] for e in found] == [9, 8, 7, 6]
    with db_api.session_scope(synced) as session:
        session.execute(sa.update(models.Event).where(models.Event.message_id.in_(
            ["msg-6", "msg-7"])).values(received_at=models.utcnow()
                                         - datetime.timedelta(days=10)))
    assert events.prune(synced, max_age=86400, max_count=0) == 2
    assert count(synced) == 2


def test_record_action_keeps_the_initiator(synced):
    class Ctx:
        user_id, project_id, request_id = "u1", P2, "req-1"

    events.record_action(synced, Ctx(), "multisite.quota.update", project_id=P1,
                         payload={"limits": {"cores": 1}})
    (stored,), _ = events.list_events(synced, project_id=P1, limit=1)
    assert stored["origin"] == "multisite"
    assert stored["user_id"] == "u1" and stored["request_id"] == "req-1"
    assert stored["payload"]["initiator"] == {"user_id": "u1", "project_id": P2,
                                              "request_id": "req-1"}
