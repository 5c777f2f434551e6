"""The event feed's batch handling without a broker: the AMQP body decoded as
oslo.messaging's listeners decode it, a batch stored in one go, a poison message dropped
alone, a failing database requeuing the whole batch."""

import json
import uuid

import pytest

from multisite.clients import notifications
from multisite.engine import event_feed
from multisite.objects import events


class Counted:
    def __init__(self):
        self.received, self.failed = [], 0

    def events_received(self, region, stored, duplicates, invalid):
        self.received.append((stored, duplicates, invalid))

    def events_failed(self, region, count):
        self.failed += count


def body(message_id=None, **extra):
    message = {"message_id": message_id or str(uuid.uuid4()), "publisher_id": "network.h1",
               "event_type": "network.create.end", "priority": "INFO",
               "payload": {"network": {"id": "net-1", "project_id": "p1"}},
               "timestamp": "2026-12-03 08:00:00.123456", "_context_project_id": "p1",
               "_context_user_id": "u1", "_context_request_id": "req-1",
               "_unique_id": "x"}
    message.update(extra)
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


def item(message_id=None, **extra):
    return ("notifications.info", notifications.decode(body(message_id, **extra),
                                                       "notifications.info"), None)


def refusing(message_id):
    """events.store, except that a batch holding `message_id` fails (a poison row)."""
    real = events.store

    def store(conf, found):
        if any(e["message_id"] == message_id for e in found):
            raise ValueError("a row the database refuses")
        return real(conf, found)
    return store


def test_decode_an_oslo_messaging_envelope():
    got = notifications.decode(body("m-1", priority="ERROR"), "notifications.error")
    assert got == {"ctxt": {"project_id": "p1", "user_id": "u1", "request_id": "req-1"},
                   "publisher_id": "network.h1", "event_type": "network.create.end",
                   "priority": "ERROR",
                   "payload": {"network": {"id": "net-1", "project_id": "p1"}},
                   "metadata": {"message_id": "m-1",
                                "timestamp": "2026-12-03 08:00:00.123456"}}
    # an old (1.0, no envelope) body and a message without priority (from the routing key)
    plain = json.loads(json.loads(body("m-2"))["oslo.message"])
    del plain["priority"]
    assert notifications.decode(json.dumps(plain), "notifications.warn")["priority"] == "WARN"


@pytest.mark.parametrize("raw", [b"\xff\xfe not json", b"[1, 2]", b'{"oslo.message": "{"}',
                                 json.dumps({"no": "event type"}).encode()])
def test_undecodable_bodies(raw):
    with pytest.raises(notifications.Undecodable):
        notifications.decode(raw, "notifications.info")


def test_a_batch_is_stored_once_and_redelivery_is_skipped(db):
    counted = Counted()
    listener = event_feed.RegionListener(db, "RegionOne", "rabbit://h/v", metrics=counted)
    told = []
    listener.subscribers = [lambda region, found: told.append(len(found))]
    batch = [item(f"m-{i}") for i in range(5)]
    assert listener.handle(batch) is True
    assert listener.handle(batch[2:]) is True          # redelivered after a crash
    stored = events.list_events(db, limit=100)[0]
    assert sorted(e["message_id"] for e in stored) == [f"m-{i}" for i in range(5)]
    assert {(e["region"], e["project_id"], e["user_id"], e["resource_id"]) for e in stored} == {
        ("RegionOne", "p1", "u1", "net-1")}
    assert counted.received == [(5, 0, 0), (0, 3, 0)] and told == [5, 3]


def test_a_poison_message_does_not_block_its_batch(db, monkeypatch):
    counted = Counted()
    listener = event_feed.RegionListener(db, "RegionOne", "rabbit://h/v", metrics=counted)
    monkeypatch.setattr(events, "store", refusing("poison"))
    batch = [item("m-1"), ("notifications.info", None, "not JSON"), item("poison"),
             item("m-2"), item(None, event_type="x.y")]
    batch[-1][1]["metadata"]["message_id"] = None       # no message id: cannot be kept
    assert listener.handle(batch) is True                 # acknowledged: never redelivered
    assert sorted(e["message_id"] for e in events.list_events(db)[0]) == ["m-1", "m-2"]
    # 2 stored; invalid: the undecodable body, the one without id, the poison one
    assert counted.received == [(2, 0, 3)] and counted.failed == 0


def test_a_failing_database_requeues_the_whole_batch(db, monkeypatch):
    counted = Counted()
    listener = event_feed.RegionListener(db, "RegionOne", "rabbit://h/v", metrics=counted)

    def store(conf, found):
        raise RuntimeError("database gone")

    monkeypatch.setattr(events, "store", store)
    monkeypatch.setattr(events, "database_answers", lambda conf: False)
    assert listener.handle([item("m-1"), item("m-2")]) is False
    assert counted.failed == 2 and counted.received == []
    monkeypatch.undo()
    assert listener.handle([item("m-1"), item("m-2")]) is True     # the redelivery
    assert len(events.list_events(db)[0]) == 2


def test_a_malformed_url_fails_that_region_only(db):
    db.set_override("region_transport_url", ["RegionOne=rabbit://h:notaport/v",
                                             "RegionTwo=rabbit://127.0.0.1:5999/v"],
                    group="notifications")
    feed = event_feed.EventFeed(db)
    feed.start()
    try:
        assert feed.listeners["RegionOne"].state == "failed"
        assert feed.listeners["RegionOne"].error
        assert feed.listeners["RegionTwo"].state in ("connecting", "listening")
    finally:
        feed.stop()
        db.clear_override("region_transport_url", group="notifications")
