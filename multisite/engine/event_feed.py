"""The event feed's listeners: one oslo.messaging batch notification listener per region.

Each region's listener has its own transport and its own thread to start in (starting
blocks while that region's RabbitMQ is unreachable; oslo.messaging then keeps
reconnecting by itself), so one region's bus never holds up another's. Every engine
joins the same listener pool ([notifications] pool): a notification reaches one engine.
A batch that cannot be stored is requeued; redelivered messages are skipped by the
unique message id, so restarts never duplicate events.
"""

import functools
import logging
import threading

import oslo_messaging as messaging

from multisite.clients import bus
from multisite.objects import events

LOG = logging.getLogger(__name__)

PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")


class _Endpoint:
    """Batch endpoint: one method per priority, each storing its messages."""

    def __init__(self, handle):
        for priority in PRIORITIES:
            setattr(self, priority, functools.partial(handle, priority.upper()))


def targets_of(options):
    """Every (exchange, topic) pair: each service publishes on its own exchange."""
    return [messaging.Target(topic=topic, exchange=exchange)
            for exchange in options.exchanges for topic in options.topics]


class RegionListener:
    def __init__(self, conf, region, url, *, metrics=None, subscribers=()):
        self.conf = conf
        self.region = region
        self.url = url
        self.metrics = metrics
        # callables (region, events) told of every batch once it is stored
        self.subscribers = subscribers
        self.state = "stopped"
        self.error = None
        self._listener = None
        self._transport = None
        self._thread = None

    def handle(self, priority, messages):
        found = [events.from_notification(self.region, m, priority=priority)
                 for m in messages]
        found = [e for e in found if e is not None]
        try:
            stored = events.store(self.conf, found)
        except Exception:
            LOG.exception("Could not store events: region=%s count=%d", self.region,
                          len(found))
            if self.metrics is not None:
                self.metrics.events_failed(self.region, len(found))
            return messaging.NotificationResult.REQUEUE
        if self.metrics is not None:
            self.metrics.events_received(self.region, stored, len(found) - stored,
                                         len(messages) - len(found))
        LOG.debug("Events stored: region=%s stored=%d duplicates=%d", self.region, stored,
                  len(found) - stored)
        for subscriber in self.subscribers:
            try:
                subscriber(self.region, found)
            except Exception:           # a subscriber never loses or requeues events
                LOG.exception("Event subscriber failed: region=%s subscriber=%r",
                              self.region, subscriber)
        return messaging.NotificationResult.HANDLED

    def start(self):
        """Start listening in the background; returns at once."""
        options = self.conf.notifications
        transport = self._transport = messaging.get_notification_transport(
            self.conf, url=self.url)
        targets = targets_of(options)
        self._listener = messaging.get_batch_notification_listener(
            transport, targets, [_Endpoint(self.handle)], executor="threading",
            allow_requeue=True, pool=options.pool, batch_size=options.batch_size,
            batch_timeout=options.batch_timeout)
        self.state = "connecting"
        self._thread = threading.Thread(target=self._start, daemon=True,
                                        name=f"events-{self.region}")
        self._thread.start()

    def _start(self):
        try:
            self._listener.start()
        except Exception as exc:
            self.state, self.error = "failed", str(exc)
            LOG.error("Event listener failed to start: region=%s url=%s error=%s",
                      self.region, bus.safe_url(self.url), exc)
            return
        self.state, self.error = "listening", None
        LOG.info("Event listener started: region=%s url=%s topics=%s exchanges=%s",
                 self.region, bus.safe_url(self.url), ",".join(self.conf.notifications.topics),
                 ",".join(self.conf.notifications.exchanges))

    def stop(self):
        listener = self._listener
        if listener is None:
            return
        self.state = "stopped"
        try:
            if self._thread is not None and not self._thread.is_alive():
                listener.stop()
                listener.wait()
                # its connections and heartbeat thread too (they outlive a stopped listener)
                self._transport.cleanup()
        except Exception:
            LOG.exception("Event listener did not stop cleanly: region=%s", self.region)
        self._listener = None


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
                listener.state, listener.error = "failed", str(exc)
                LOG.error("Event listener not started: region=%s error=%s",
                          listener.region, exc)

    def stop(self):
        for listener in list(self.listeners.values()) + self.extra:
            listener.stop()
