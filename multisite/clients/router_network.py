"""What the router jobs (kind `net_router`, docs/networking.md) ask of Neutron, as
Multisite's service user: the top router and its interfaces, and in a pod the bottom
router, its gateway on the bridge network, its interfaces and its extra routes.

Every write is counted per region (`writes`), so that a test or the benchmark can check
that a job redone when nothing changed writes nothing.
"""

import collections
import threading

from multisite.clients import gateway_network, session

RegionError = session.RegionError
NotFound = session.NotFound

# add the keys the pod jobs write besides the gateway's
SINGULAR = dict(gateway_network.SINGULAR, routers="router", floatingips="floatingip")
OWN = ("routers", "floatingips")        # the collections this client posts and deletes


class RouterNetwork(gateway_network.PodNetwork):
    """Neutron of any region, with the router calls and a write counter."""

    def __init__(self, conf):
        super().__init__(conf)
        self._lock = threading.Lock()
        self.writes = collections.Counter()     # region -> writes asked

    def _count(self, region):
        with self._lock:
            self.writes[region] += 1

    def get(self, region, collection, item_id):
        """One item, or None if the region says it does not exist."""
        api, root = self._api(region)
        try:
            with session.translate(region, f"show {SINGULAR[collection]} {item_id}"):
                return api.get(f"{root}/{collection}/{item_id}").json()[SINGULAR[collection]]
        except NotFound:
            return None

    def create(self, region, collection, body):
        self._count(region)
        if collection in OWN:
            api, root, key = *self._api(region), SINGULAR[collection]
            with session.translate(region, f"create a {key}"):
                return api.post(f"{root}/{collection}", json={key: body}).json()[key]
        return super().create(region, collection, body)

    def delete(self, region, collection, item_id):
        self._count(region)
        if collection not in OWN:
            return super().delete(region, collection, item_id)
        api, root = self._api(region)
        try:
            with session.translate(region, f"delete {SINGULAR[collection]} {item_id}"):
                api.delete(f"{root}/{collection}/{item_id}")
        except NotFound:
            pass                         # already gone
        return None

    def update_router(self, region, router_id, changes):
        """PUT /routers/{id} (gateway, routes)."""
        self._count(region)
        api, root = self._api(region)
        with session.translate(region, f"update router {router_id}"):
            return api.put(f"{root}/routers/{router_id}",
                           json={"router": changes}).json()["router"]

    def router_interface(self, region, router_id, subnet_id, *, add):
        """Add (or remove) the subnet as an interface of the router."""
        self._count(region)
        api, root = self._api(region)
        action = "add_router_interface" if add else "remove_router_interface"
        try:
            with session.translate(region, f"{action} {subnet_id} of router {router_id}"):
                return api.put(f"{root}/routers/{router_id}/{action}",
                               json={"subnet_id": subnet_id}).json()
        except NotFound:
            if add:
                raise
            return None                  # already gone

    def router_port_interface(self, region, router_id, port_id):
        """Add the port as an interface of the router (at the port's own IP)."""
        self._count(region)
        api, root = self._api(region)
        with session.translate(region, f"add_router_interface port {port_id} of router "
                                       f"{router_id}"):
            return api.put(f"{root}/routers/{router_id}/add_router_interface",
                           json={"port_id": port_id}).json()
