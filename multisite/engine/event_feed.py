"""The event feed's listeners: one batch consumer per region on its notification bus.

Each region's consumer (clients/notifications.py) has its own connection and thread and
reconnects by itself, so one region's bus never holds up another's. Every engine joins
the same listener pool queue ([notifications] pool): a notification reaches one engine.
A batch is stored in one transaction and acknowledged as a whole; a batch that cannot be
stored is requeued, and redelivered messages are skipped by the unique message id, so
restarts never duplicate events and a crash never loses one. A message that cannot be
stored on its own while the database works (a poison message) is dropped, logged and
counted, so it never blocks the queue.
"""

import logging

from multisite.clients import bus, notifications
from multisite.objects import events

LOG = logging.getLogger(__name__)

PRIORITIES = notifications.PRIORITIES


def bindings_of(options):
    """Every (exchange, routing key) pair: each service publishes on its own exchange,
    with routing key topic.priority (as oslo.messaging's notification listeners bind)."""
    return [(exchange, f"{topic}.{priority}")
            for exchange in options.exchanges for topic in options.topics
            for priority in PRIORITIES]


class RegionListener:
    def __init__(self, conf, region, url, *, metrics=None, subscribers=()):
        self.conf = conf
        self.region = region
        self.url = url
        self.metrics = metrics
        # callables (region, events) told of every batch once it is stored
        self.subscribers = subscribers
        self._consumer = None
        self._failed = None

    @property
    def state(self):
        if self._failed is not None:
            return "failed"
        return self._consumer.state if self._consumer is not None else "stopped"

    @property
    def error(self):
        if self._failed is not None:
            return self._failed
        return self._consumer.error if self._consumer is not None else None

    def handle(self, items):
        """Store one batch ([(routing key, notification or None, why undecodable)]).
        True: every message is settled (stored, a duplicate, or dropped as invalid or
        poison); False: the database refused, requeue the batch."""
        found, invalid = [], 0
        for _, message, why in items:
            event = None
            if message is not None:
                try:
                    event = events.from_notification(self.region, message,
                                                     priority=message["priority"])
                except Exception:       # a payload no parser expected: poison, not a crash
                    LOG.exception("Notification not understood: region=%s", self.region)
            if event is None:
                invalid += 1
                LOG.warning("Notification dropped: region=%s reason=%s", self.region,
                            why or "no message id or unreadable")
                continue
            found.append(event)
        try:
            stored = events.store(self.conf, found)
        except Exception:
            LOG.exception("Could not store a batch of events: region=%s count=%d",
                          self.region, len(found))
            stored, poison = self._one_by_one(found)
            if stored is None:
                if self.metrics is not None:
                    self.metrics.events_failed(self.region, len(found))
                return False
            invalid += len(poison)
            found = [e for e in found if e["message_id"] not in poison]
        if self.metrics is not None:
            self.metrics.events_received(self.region, stored, len(found) - stored, invalid)
        LOG.debug("Events stored: region=%s stored=%d duplicates=%d invalid=%d",
                  self.region, stored, len(found) - stored, invalid)
        self._tell(found)
        return True

    def _one_by_one(self, found):
        """After a batch failed: store each event alone. (stored, poison message ids), or
        (None, None) when the database itself is failing (requeue everything)."""
        stored, failed = 0, []
        for event in found:
            try:
                stored += events.store(self.conf, [event])
            except Exception:
                failed.append(event)
        if failed and not events.database_answers(self.conf):
            return None, None
        for event in failed:
            LOG.error("Poison notification dropped: region=%s message_id=%s event_type=%s",
                      self.region, event["message_id"], event["event_type"])
        return stored, {event["message_id"] for event in failed}

    def _tell(self, found):
        for subscriber in self.subscribers:
            try:
                subscriber(self.region, found)
            except Exception:           # a subscriber never loses or requeues events
                LOG.exception("Event subscriber failed: region=%s subscriber=%r",
                              self.region, subscriber)

    def start(self):
        """Start listening in the background; returns at once."""
        options = self.conf.notifications
        try:
            bus.amqp_urls(self.conf, self.url)
        except Exception as exc:        # a malformed url: never retried
            self._failed = str(exc)
            LOG.error("Event listener failed to start: region=%s url=%s error=%s",
                      self.region, bus.safe_url(self.url), exc)
            return
        self._consumer = notifications.BatchConsumer(
            self.conf, self.url, queue=options.pool, bindings=bindings_of(options),
            handle=self.handle, batch_size=options.batch_size,
            batch_timeout=options.batch_timeout, prefetch=options.prefetch,
            name=f"events-{self.region}")
        self._consumer.start()

    def stop(self, *, wait=True):
        if self._consumer is not None:
            self._consumer.stop(timeout=10.0 if wait else 0)
            if wait:
                self._consumer = None


class EventFeed:
    """Every configured region's listener; `urls` is {region: transport url}."""

    def __init__(self, conf, *, metrics=None):
        self.conf = conf
        self.metrics = metrics
        self.urls = bus.parse_region_urls(conf.notifications.region_transport_url)
        self.subscribers = []
        self.listeners = {region: RegionListener(conf, region, url, metrics=metrics,
                                                 subscribers=self.subscribers)
                          for region, url in self.urls.items()}
        # Extra consumers of the same pool queue: each message is delivered to one.
        self.extra = [RegionListener(conf, region, url, metrics=metrics,
                                     subscribers=self.subscribers)
                      for region, url in self.urls.items()
                      for _ in range(conf.notifications.listeners_per_region - 1)]

    def subscribe(self, subscriber):
        """Call `subscriber(region, events)` after each stored batch (in the listener's
        thread: keep it short, e.g. wake a kind with Manager.notify)."""
        self.subscribers.append(subscriber)

    def start(self):
        for listener in list(self.listeners.values()) + self.extra:
            try:
                listener.start()
            except Exception as exc:        # a bad URL for one region only
                listener._failed = str(exc)
                LOG.error("Event listener not started: region=%s error=%s",
                          listener.region, exc)

    def stop(self):
        # every consumer told first, then waited for: a region stuck connecting does not
        # hold up the others' stop
        every = list(self.listeners.values()) + self.extra
        for listener in every:
            listener.stop(wait=False)
        for listener in every:
            listener.stop()
