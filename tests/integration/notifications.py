"""Listen to a devcloud region's notifications (its own RabbitMQ vhost) with oslo.messaging."""

from __future__ import annotations

import subprocess
import threading
import uuid

import oslo_messaging
from oslo_config import cfg

from tests import polling

# each service publishes on its own control exchange; topic "notifications" (.info/.error ...)
# cinder-volume's notifications (e.g. volume.create.end) arrive on the default exchange
# "openstack", cinder-api's on "cinder": a listener must bind both
EXCHANGES = ("nova", "neutron", "cinder", "glance", "keystone", "openstack")


class Recorder:
    """Every notification received: (event_type, payload, publisher_id)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict, str]] = []
        self._lock = threading.Lock()

    def _record(self, ctxt, publisher_id, event_type, payload, metadata):
        with self._lock:
            self.events.append((event_type, payload, publisher_id))

    info = warn = error = audit = critical = debug = sample = _record

    def matching(self, event_type: str, predicate=lambda payload: True) -> list:
        with self._lock:
            return [e for e in self.events if e[0] == event_type and predicate(e[1])]

    def wait_for(self, event_type: str, predicate=lambda payload: True, timeout: float = 30.0):
        """The first matching notification's payload (fails after ``timeout``)."""
        polling.wait_for(lambda: self.matching(event_type, predicate), timeout=timeout,
                         what=f"notification {event_type}")
        return self.matching(event_type, predicate)[0][1]


class Listener:
    """A notification listener on ``url`` with its own auto-deleted queues (a pool)."""

    def __init__(self, url: str) -> None:
        self.vhost = url.rsplit("/", 1)[1]
        self.pool = f"multisite-tests-{uuid.uuid4().hex[:8]}"
        self.conf = cfg.ConfigOpts()
        self.conf([], project="multisite-tests")
        self.transport = oslo_messaging.get_notification_transport(self.conf, url=url)
        self.recorder = Recorder()
        targets = [oslo_messaging.Target(topic="notifications", exchange=x) for x in EXCHANGES]
        self.listener = oslo_messaging.get_notification_listener(
            self.transport, targets, [self.recorder], executor="threading",
            pool=self.pool)

    def __enter__(self) -> Recorder:
        self.listener.start()
        return self.recorder

    def __exit__(self, *exc) -> None:
        self.listener.stop()
        self.listener.wait()
        self.transport.cleanup()
        # the pool's queue would keep collecting notifications: delete it
        subprocess.run(["rabbitmqctl", "delete_queue", "-p", self.vhost, self.pool],
                       capture_output=True, timeout=60, check=False)
