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


class RegionListener:
    def __init__(self, conf, region, url, *, metrics=None, subscribers=()):
        self.conf = conf
        self.subscribers = subscribers
        self.region = region
        self.url = url
        self.metrics = metrics
        self.state = "stopped"
        self.error = None
        self._listener = None
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
                subscriber(found)
            except Exception:
                LOG.exception("Event subscriber failed: region=%s", self.region)
        return messaging.NotificationResult.HANDLED

    def start(self):
        """Start listening in the background; returns at once."""
        options = self.conf.notifications
        transport = messaging.get_notification_transport(self.conf, url=self.url)
        targets = [messaging.Target(topic=topic, exchange=exchange)
                   for topic in options.topics for exchange in options.exchanges]
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
        LOG.info("Event listener started: region=%s url=%s topics=%s", self.region,
                 bus.safe_url(self.url), ",".join(self.conf.notifications.topics))

    def stop(self):
        listener = self._listener
        if listener is None:
            return
        self.state = "stopped"
        try:
            if self._thread is not None and not self._thread.is_alive():
                listener.stop()
                listener.wait()
        except Exception:
            LOG.exception("Event listener did not stop cleanly: region=%s", self.region)
        self._listener = None


class EventFeed:
    """Every configured region's listener; `urls` is {region: transport url}."""

    def __init__(self, conf, *, metrics=None):
        self.conf = conf
        self.metrics = metrics
        self.urls = bus.parse_region_urls(conf.notifications.region_transport_url)
        # callables given each batch of stored events (kinds woken by events)
        self.subscribers = []
        self.listeners = {region: RegionListener(conf, region, url, metrics=metrics,
                                                 subscribers=self.subscribers)
                          for region, url in self.urls.items()}
        # Extra consumers of the same pool queue: each message is delivered to one.
        self.extra = [RegionListener(conf, region, url, metrics=metrics,
                                     subscribers=self.subscribers)
                      for region, url in self.urls.items()
                      for _ in range(conf.notifications.listeners_per_region - 1)]

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
