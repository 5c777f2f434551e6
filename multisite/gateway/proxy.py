"""Forwarding one call of the caller to a pod's service (the caller's token, headers and
body), a pod that does not answer being a 503 naming it."""

from multisite.clients import gateway as pod_client
from multisite.gateway import faults


def forward(conf, pod, service_type, req, path, *, method=None, body=None, query=None):
    """The pod's Answer to the caller's request, or to `method`/`body`/`query` instead."""
    try:
        return pod_client.forwarder(conf).forward(
            pod["pod_name"], service_type, method or req.method, path,
            query=req.query_string if query is None else query,
            headers=dict(req.headers), body=req.body if body is None else body)
    except pod_client.UnknownRegion as exc:
        raise faults.pod_unavailable(pod["pod_name"],
                                     f"no {service_type} endpoint ({exc})") from None
    except pod_client.RegionError as exc:
        raise faults.pod_unavailable(pod["pod_name"], str(exc)) from None
