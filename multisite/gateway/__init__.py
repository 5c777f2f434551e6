"""multisite-gateway: the big region's compute (and later volume, network) endpoint.

Routing-table lookups and per-service proxies only: what a call means is decided by the
pods; what the gateway keeps (pods, bindings, routings) is in objects/, and every call to
a pod goes through multisite.clients.gateway.
"""
