"""A region's notification bus (RabbitMQ): can we connect to it right now?"""

import time

import kombu
import oslo_messaging as messaging


def parse_region_urls(values):
    """{region: transport url} from [notifications] region_transport_url entries
    (REGION_NAME=TRANSPORT_URL); raises ValueError naming a malformed entry."""
    out = {}
    for value in values:
        region, sep, url = value.partition("=")
        if not sep or not region.strip() or "://" not in url:
            raise ValueError(f"[notifications] region_transport_url {value.split('@')[-1]!r}:"
                             " expected REGION_NAME=TRANSPORT_URL")
        out[region.strip()] = url.strip()
    return out


def safe_url(url):
    """The URL without its credentials, for logs and errors."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}"


def amqp_urls(conf, url):
    """The AMQP URLs (one per host, for failover) of an oslo.messaging transport url."""
    parsed = messaging.TransportURL.parse(conf, url)
    return ["amqp://{}:{}@{}:{}/{}".format(
        getattr(host, "username", None) or "guest",
        getattr(host, "password", None) or "guest",
        getattr(host, "hostname", None) or "localhost",
        getattr(host, "port", None) or 5672, parsed.virtual_host or "")
        for host in parsed.hosts or [None]]


def check(conf, url, *, timeout):
    """{"reachable", "latency_ms", "error", "version", "services"}: one AMQP connection to
    the first reachable host of the transport url, opened and closed."""
    started = time.monotonic()
    errors = []
    for target in amqp_urls(conf, url):
        connection = kombu.Connection(target, connect_timeout=timeout,
                                      transport_options={"max_retries": 0})
        try:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            server = connection.connection.server_properties or {}
            version = server.get("version")
            return {"reachable": True, "error": None, "services": None,
                    "version": version.decode() if isinstance(version, bytes) else version,
                    "latency_ms": round((time.monotonic() - started) * 1000.0, 3)}
        except Exception as exc:       # kombu/amqp raise many kinds; all mean "not now"
            errors.append(f"{safe_url(url)}: {exc}")
        finally:
            connection.release()
    return {"reachable": False, "error": "; ".join(errors)[:500], "services": None,
            "version": None, "latency_ms": round((time.monotonic() - started) * 1000.0, 3)}
