"""What the gateway and its port reconciler ask of Neutron with Multisite's service
credentials: the bottom copies of top networks, subnets, security groups and ports in a
pod (a port's MAC address is an admin's to choose), and the top ports to compare with.

The user's own calls to the top Neutron go through clients.gateway with the user's token.
"""

import logging
import urllib.parse

from multisite.clients import session

LOG = logging.getLogger(__name__)

# collection path -> the body's key for one item
SINGULAR = {"networks": "network", "subnets": "subnet", "ports": "port",
            "security-groups": "security_group",
            "security-group-rules": "security_group_rule"}
# the description of a top port the gateway made for a boot on a network: the port
# reconciler deletes it, with its bottom port, once no server holds the bottom port
MADE_FOR_BOOT = "multisite-gateway: made for a server boot"
# neutron answers a long URL with 414: ids per filtered GET
CHUNK = 40

RegionError = session.RegionError


class PodNetwork:
    """Neutron of any region (a pod or the top), as Multisite's service user."""

    def __init__(self, conf):
        self.conf = conf

    def _api(self, region):
        api = session.adapter(self.conf, "network", region)
        return api, session.versioned_endpoint(api, region, "network", "v2.0")

    def find(self, region, collection, **filters):
        """Items of `collection` matching the filters (a list value: any of them)."""
        api, root = self._api(region)
        pairs = [(k, v) for k, values in filters.items()
                 for v in (values if isinstance(values, list | tuple) else [values])]
        with session.translate(region, f"list {collection}"):
            body = api.get(f"{root}/{collection}?{urllib.parse.urlencode(pairs)}").json()
        return body[collection.replace("-", "_")]

    def find_many(self, region, collection, key, values):
        """Items whose `key` is one of `values`, asked in chunks."""
        values, found = list(values), []
        for start in range(0, len(values), CHUNK):
            found += self.find(region, collection, **{key: values[start:start + CHUNK]})
        return found

    def create(self, region, collection, body):
        api, root = self._api(region)
        key = SINGULAR[collection]
        with session.translate(region, f"create a {key}"):
            return api.post(f"{root}/{collection}", json={key: body}).json()[key]

    def delete(self, region, collection, item_id):
        """Delete one item; one already gone is fine."""
        api, root = self._api(region)
        with session.translate(region, f"delete {SINGULAR[collection]} {item_id}"):
            resp = api.delete(f"{root}/{collection}/{item_id}", raise_exc=False)
        if resp.status_code not in (204, 404):
            raise session.Unavailable(region, f"delete {SINGULAR[collection]} {item_id}: "
                                              f"HTTP {resp.status_code}")
        LOG.info("Deleted: region=%s %s=%s status=%s", region, SINGULAR[collection], item_id,
                 resp.status_code)
