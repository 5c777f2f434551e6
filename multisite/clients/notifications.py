"""A region's notification bus, consumed in batches (AMQP, RabbitMQ).

oslo.messaging's notification listeners (the batch one included) take one message per
poll and acknowledge each message on its own: near 500 notifications/s on this machine.
This consumer reads the same queue the way oslo.messaging declares it (the listener
pool's queue, bound to every exchange × topic.priority), with a prefetch window, and
hands whole batches to a callback; the batch is then acknowledged with one
`basic.ack(multiple)`, or requeued with one `basic.nack(multiple, requeue)`. Unacked
messages (a crash, a lost connection) are redelivered by the broker: the caller must
accept a message twice (the event feed skips known message ids).

The connection is retried for ever with a capped backoff; `state` and `error` say how
it goes ("connecting", "listening", "stopped").
"""

import json
import logging
import threading
import time

import amqp
import kombu

from multisite.clients import bus

LOG = logging.getLogger(__name__)

PRIORITIES = ("audit", "debug", "info", "warn", "error", "critical", "sample")
_CONTEXT = "_context_"
BACKOFF_MAX = 30.0


class Undecodable(ValueError):
    """A message body that is not an oslo.messaging notification."""


def decode(body, routing_key=""):
    """The notification of one AMQP body, as oslo.messaging's listeners see it:
    {"ctxt", "publisher_id", "event_type", "priority", "payload", "metadata":
    {"message_id", "timestamp"}}; raises Undecodable."""
    try:
        outer = json.loads(body)
        inner = outer.get("oslo.message") if isinstance(outer, dict) else None
        message = json.loads(inner) if isinstance(inner, str) else outer
    except (ValueError, TypeError) as exc:        # json errors, bytes that are not text
        raise Undecodable(f"not JSON: {exc}") from None
    if not isinstance(message, dict) or "event_type" not in message:
        raise Undecodable("no event_type: not a notification")
    ctxt = {key[len(_CONTEXT):]: value for key, value in message.items()
            if key.startswith(_CONTEXT)}
    priority = message.get("priority") or routing_key.rpartition(".")[2] or "info"
    return {"ctxt": ctxt, "publisher_id": message.get("publisher_id"),
            "event_type": message.get("event_type"), "priority": str(priority).upper(),
            "payload": message.get("payload"),
            "metadata": {"message_id": message.get("message_id"),
                         "timestamp": message.get("timestamp")}}


def _rabbit_option(conf, name, default):
    try:
        return getattr(conf.oslo_messaging_rabbit, name)
    except Exception:                  # the group is registered by oslo.messaging, maybe not yet
        return default


class BatchConsumer:
    """Consume `queue` (bound to every (exchange, routing key) of `bindings`) on the
    transport `url` in batches of at most `batch_size`, waiting at most `batch_timeout`
    seconds after a batch's first message.

    `handle(items)` gets [(routing key, notification or None, error or None)] (None for
    an undecodable body, with why) and returns True to acknowledge the whole batch, False
    to requeue it (the consumer then waits before taking more).
    """

    def __init__(self, conf, url, *, queue, bindings, handle, batch_size, batch_timeout,
                 prefetch=None, name="bus"):
        self.conf = conf
        self.url = url
        self.queue = queue
        self.bindings = list(bindings)
        self.handle = handle
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        self.prefetch = prefetch or batch_size * 2
        self.name = name
        self.state = "stopped"
        self.error = None
        self._stopping = threading.Event()
        self._thread = None

    # -- lifecycle ---------------------------------------------------------------
    def start(self):
        self._stopping.clear()
        self.state = "connecting"
        self._thread = threading.Thread(target=self.run, daemon=True, name=self.name)
        self._thread.start()

    def stop(self, timeout=10.0):
        """Stop taking messages; a batch being handled finishes first. Unacked messages
        go back to the queue when the connection closes. timeout=0: do not wait."""
        self._stopping.set()
        if (timeout and self._thread is not None
                and self._thread is not threading.current_thread()):
            self._thread.join(timeout)
        self.state = "stopped"

    def run(self):
        delay = 1.0
        while not self._stopping.is_set():
            connection = kombu.Connection(";".join(bus.amqp_urls(self.conf, self.url)),
                                          failover_strategy="round-robin", heartbeat=30,
                                          connect_timeout=5)
            try:
                connection.ensure_connection(max_retries=1, timeout=5)
                self._consume(connection)
                delay = 1.0
            except Exception as exc:        # amqp/kombu/socket errors: retry, log once a try
                self.error = f"{bus.safe_url(self.url)}: {exc}"
                if self._stopping.is_set():
                    break
                self.state = "connecting"
                LOG.warning("Notification bus unavailable, retrying in %.0f s: %s error=%s",
                            delay, self.name, self.error)
                self._stopping.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX)
            finally:
                try:
                    connection.release()
                except Exception:           # a dead socket: nothing left to release
                    LOG.debug("Closing a dead bus connection failed: %s", self.name)
        self.state = "stopped"

    # -- consuming -----------------------------------------------------------------
    def _declare(self, connection):
        durable = _rabbit_option(self.conf, "amqp_durable_queues", False)
        auto_delete = _rabbit_option(self.conf, "amqp_auto_delete", False)
        arguments = {}
        if _rabbit_option(self.conf, "rabbit_quorum_queue", False):
            arguments, durable = {"x-queue-type": "quorum"}, True
        channel = connection.channel()
        for exchange in sorted({exchange for exchange, _ in self.bindings}):
            try:
                channel.exchange_declare(exchange, "topic", durable=durable,
                                         auto_delete=auto_delete)
            except amqp.exceptions.PreconditionFailed:
                # declared by its service with the other durability (as oslo.messaging
                # does, take the one that is there)
                channel = connection.channel()
                channel.exchange_declare(exchange, "topic", durable=not durable,
                                         auto_delete=auto_delete)
        channel.queue_declare(self.queue, durable=durable, auto_delete=auto_delete,
                              arguments=arguments)
        for exchange, routing_key in self.bindings:
            channel.queue_bind(self.queue, exchange, routing_key)
        return channel

    def _consume(self, kombu_connection):
        connection = kombu_connection.connection
        channel = self._declare(connection)
        channel.basic_qos(0, self.prefetch, False)
        # this connection's deliveries only: a message is acknowledged on its own channel
        pending = []
        channel.basic_consume(self.queue, callback=pending.append, no_ack=False)
        self.state, self.error = "listening", None
        LOG.info("Notification bus consumer started: %s url=%s queue=%s bindings=%d",
                 self.name, bus.safe_url(self.url), self.queue, len(self.bindings))
        deadline = None
        while not self._stopping.is_set():
            wait = 1.0 if deadline is None else deadline - time.monotonic()
            if len(pending) < self.batch_size and wait > 0:
                try:
                    connection.drain_events(timeout=min(wait, 1.0))
                except TimeoutError:
                    kombu_connection.heartbeat_check()
            if not pending:
                continue
            if deadline is None:
                deadline = time.monotonic() + self.batch_timeout
            if len(pending) >= self.batch_size or time.monotonic() >= deadline:
                batch = pending[:self.batch_size]
                del pending[:self.batch_size]
                deadline = None
                self._settle(channel, batch, pending)

    def _settle(self, channel, batch, pending):
        items = []
        for message in batch:
            routing_key = message.delivery_info.get("routing_key") or ""
            try:
                items.append((routing_key, decode(message.body, routing_key), None))
            except Undecodable as exc:
                items.append((routing_key, None, str(exc)))
        last = batch[-1].delivery_info["delivery_tag"]
        if self.handle(items):
            channel.basic_ack(last, multiple=True)
            return
        channel.basic_nack(last, multiple=True, requeue=True)
        # messages already prefetched behind the batch go back too: taken again later
        if pending:
            channel.basic_nack(pending[-1].delivery_info["delivery_tag"], multiple=True,
                               requeue=True)
            pending.clear()
        self._stopping.wait(1.0)
