"""The event feed's listeners on the machine's RabbitMQ: real notifications published with
oslo.messaging's Notifier on two private vhosts (one per region), a third region whose
bus is unreachable; stored once each, served by /v2/events, the bad bus visible in
/v2/regions."""

import json
import uuid

import amqp
import oslo_messaging as messaging
import pytest
import webob
from oslo_context import context as oslo_context

from multisite.api import app as api_app
from multisite.engine import controller, event_feed
from multisite.objects import events
from multisite.reconcilers import Key
from multisite.reconcilers import event_feed as feed_reconcilers
from tests.conftest import require_service
from tests.functional.api import servers
from tests.functional.test_api_process import _rabbitmqctl
from tests.polling import wait_for
from tests.unit.engine import test_event_batches

pytestmark = pytest.mark.rabbit

RABBIT = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"
BAD = "rabbit://guest:guest@127.0.0.1:5999/nowhere"
P1, P2 = uuid.uuid4().hex, uuid.uuid4().hex


_TRANSPORTS = []


@pytest.fixture
def vhosts():
    require_service("RabbitMQ", servers.port_open(5672), "nothing listens on 127.0.0.1:5672")
    made = []
    for _ in range(2):
        vhost = f"ms-events-{uuid.uuid4().hex[:12]}"
        ok = (_rabbitmqctl("add_vhost", vhost).returncode == 0 and _rabbitmqctl(
            "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*").returncode == 0)
        require_service("RabbitMQ vhost management (rabbitmqctl)", ok, vhost)
        made.append(vhost)
    yield made
    # the test's notifiers first: a transport left open keeps a heartbeat thread that logs
    # errors once its vhost is gone (until the interpreter exits, at the end of the run)
    while _TRANSPORTS:
        _TRANSPORTS.pop().cleanup()
    for vhost in made:
        _rabbitmqctl("delete_vhost", vhost)


@pytest.fixture
def feed(db, vhosts):
    urls = [f"RegionOne={RABBIT.format(vhost=vhosts[0])}",
            f"RegionTwo={RABBIT.format(vhost=vhosts[1])}", f"RegionBad={BAD}"]
    db.set_override("region_transport_url", urls, group="notifications")
    db.set_override("batch_timeout", 0.1, group="notifications")
    db.set_override("timeout", 2.0, group="health")
    feeds = []

    def start():
        made = event_feed.EventFeed(db)
        made.start()
        feeds.append(made)
        for region in ("RegionOne", "RegionTwo"):
            wait_for(lambda r=region: made.listeners[r].state == "listening", timeout=30,
                     what=f"{region}'s listener")
        return made

    yield start
    for made in feeds:
        made.stop()
    db.clear_override("region_transport_url", group="notifications")
    db.clear_override("batch_timeout", group="notifications")
    db.clear_override("timeout", group="health")


def notifier(conf, vhost, publisher):
    transport = messaging.get_notification_transport(conf, url=RABBIT.format(vhost=vhost))
    _TRANSPORTS.append(transport)
    return messaging.Notifier(transport, publisher_id=publisher, driver="messagingv2",
                              topics=["notifications"])


def ctx(project, user=None, request_id=None):
    """A request context as services send it (a plain dict would be dropped by the
    Notifier)."""
    return oslo_context.RequestContext(project_id=project, user_id=user,
                                       request_id=request_id, overwrite=False)


def stored(conf, **filters):
    return events.list_events(conf, limit=1000, **filters)[0]


def get(app, url, project, roles="member"):
    resp = webob.Request.blank(url, headers={"X-Project-Id": project,
                                             "X-Roles": roles}).get_response(app)
    return resp.status_int, json.loads(resp.body)


def test_notifications_of_two_regions_arrive_once(db, vhosts, feed):
    running = feed()
    assert running.listeners["RegionBad"].state == "connecting"   # never blocks the others
    one = notifier(db, vhosts[0], "network.host1")
    two = notifier(db, vhosts[1], "compute.host2")
    one.info(ctx(P1, "u1", "req-a"),
             "network.create.end", {"network": {"id": "net-1", "project_id": P1}})
    two.info(ctx(P2, "u2"), "keypair.create.end",
             {"tenant_id": P2, "key_name": "k2"})
    two.error(ctx(P2), "volume.create.error", {"volume_id": "vol-9"})
    wait_for(lambda: len(stored(db)) == 3, timeout=20, what="three stored events")
    (net,) = stored(db, region="RegionOne")
    assert (net["project_id"], net["event_type"], net["resource_id"], net["user_id"],
            net["request_id"], net["publisher_id"]) == (
        P1, "network.create.end", "net-1", "u1", "req-a", "network.host1")
    kinds = {e["event_type"]: e for e in stored(db, region="RegionTwo")}
    assert kinds["keypair.create.end"]["resource_id"] == "k2"
    assert kinds["volume.create.error"]["priority"] == "ERROR"

    app = api_app.build_app(db)
    status, body = get(app, "/v2/events", P1)
    assert status == 200 and [e["resource_id"] for e in body["events"]] == ["net-1"]
    assert get(app, f"/v2/events?project_id={P1}", P2)[0] == 403

    # A restarted listener (a new engine) does not store anything twice, and a
    # redelivered batch (same message ids) is skipped.
    running.stop()
    again = feed()
    listener = again.listeners["RegionOne"]
    message = {"ctxt": {"project_id": P1}, "publisher_id": "x", "event_type": "port.create.end",
               "payload": {"port": {"id": "p1"}}, "priority": "INFO",
               "metadata": {"message_id": str(uuid.uuid4()), "timestamp": "2026-12-03 08:00:00"}}
    assert listener.handle([("notifications.info", message, None)]) is True
    assert listener.handle([("notifications.info", message, None)]) is True
    one.info(ctx(P1), "network.delete.end", {"network_id": "net-1"})
    wait_for(lambda: len(stored(db)) == 5, timeout=20, what="the new event")
    assert len({e["message_id"] for e in stored(db)}) == 5


def test_unreachable_bus_is_a_region_service_down(db, vhosts, feed):
    running = feed()
    env = controller.Env(shared=running, conf=db, engine_id="test")
    for region in ("RegionOne", "RegionBad"):
        feed_reconcilers.check_bus(Key(feed_reconcilers.BUS_KIND, region, region), env)
    app = api_app.build_app(db)
    status, body = get(app, "/v2/regions", P1)
    assert status == 200
    by_name = {r["name"]: r for r in body["regions"]}
    assert by_name["RegionOne"]["services"]["notifications"]["reachable"] is True
    bad = by_name["RegionBad"]["services"]["notifications"]
    assert bad["reachable"] is False and "127.0.0.1:5999" in bad["last_error"]
    assert "guest" not in bad["last_error"] and "guest" not in bad["url"]
    downs = stored(db, event_type="region.down")
    assert [(e["region"], e["payload"]["service"]) for e in downs] == [
        ("RegionBad", "notifications")]


def raw_publish(vhost, bodies):
    """Bodies straight onto the 'openstack' exchange, as a service's Notifier sends them
    (or not: a poison body is anything)."""
    connection = amqp.Connection("127.0.0.1:5672", virtual_host=vhost)
    connection.connect()
    channel = connection.channel()
    for body in bodies:
        channel.basic_publish(amqp.Message(body, content_type="application/json"),
                              exchange="openstack", routing_key="notifications.info")
    connection.close()


def envelope(message_id, project=P1):
    message = {"message_id": message_id, "publisher_id": "compute.h1",
               "event_type": "compute.instance.create.end", "priority": "INFO",
               "payload": {"instance_id": message_id, "tenant_id": project},
               "timestamp": "2026-12-03 08:00:00", "_context_project_id": project}
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)})


def listening(conf, url):
    listener = event_feed.RegionListener(conf, "RegionOne", url)
    listener.start()
    wait_for(lambda: listener.state == "listening", timeout=30, what="the listener")
    return listener


def test_a_crash_before_the_ack_loses_nothing_and_duplicates_nothing(db, vhosts):
    db.set_override("batch_timeout", 0.2, group="notifications")
    db.set_override("batch_size", 50, group="notifications")
    url = RABBIT.format(vhost=vhosts[0])
    first = listening(db, url)
    crashed = []
    handle = first.handle

    def store_then_die(items):
        handle(items)                  # stored, then the engine dies before acknowledging
        crashed.append(len(items))
        first._consumer._stopping.set()
        raise RuntimeError("killed before the ack")

    first._consumer.handle = store_then_die
    ids = [f"crash-{i}" for i in range(120)]
    raw_publish(vhosts[0], [envelope(m) for m in ids])
    wait_for(lambda: crashed, timeout=20, what="the crash")
    first.stop()
    before = {e["message_id"] for e in stored(db)}
    assert 0 < len(before) < len(ids)
    # the unacknowledged batch (and everything behind it) comes back to the next listener
    second = listening(db, url)
    try:
        wait_for(lambda: len(stored(db)) == len(ids), timeout=30, what="every event")
        got = [e["message_id"] for e in stored(db)]
        assert sorted(got) == sorted(ids)              # each once: none lost, none twice
        assert before <= set(got)
    finally:
        second.stop()
        db.clear_override("batch_timeout", group="notifications")
        db.clear_override("batch_size", group="notifications")


def test_poison_messages_do_not_block_the_queue(db, vhosts, monkeypatch):
    db.set_override("batch_timeout", 0.2, group="notifications")
    monkeypatch.setattr(events, "store", test_event_batches.refusing("poison"))
    listener = listening(db, RABBIT.format(vhost=vhosts[0]))
    try:
        raw_publish(vhosts[0], [envelope("good-1"), b"\x00 not json", envelope("poison"),
                                json.dumps({"oslo.message": "{}"}), envelope("good-2")])
        wait_for(lambda: len(stored(db)) == 2, timeout=20, what="the good events")
        raw_publish(vhosts[0], [envelope("good-3")])
        wait_for(lambda: len(stored(db)) == 3, timeout=20, what="the event after them")
        assert sorted(e["message_id"] for e in stored(db)) == ["good-1", "good-2", "good-3"]
        assert listener.state == "listening"
    finally:
        listener.stop()
        db.clear_override("batch_timeout", group="notifications")
    # nothing left in the queue to come back: a new listener stores nothing more
    again = listening(db, RABBIT.format(vhost=vhosts[0]))
    try:
        raw_publish(vhosts[0], [envelope("good-4")])
        wait_for(lambda: len(stored(db)) == 4, timeout=20, what="the next event")
        assert "poison" not in {e["message_id"] for e in stored(db)}
    finally:
        again.stop()
