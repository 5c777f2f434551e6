"""/v2/routers: the big region's top routers as the pods hold them."""

import urllib.parse


class RouterManager:
    def __init__(self, http):
        self.http = http

    def topology(self, router_id):
        """The router in every pod, read live, with each pod's drift from the top."""
        path = f"/routers/{urllib.parse.quote(router_id, safe='')}/topology"
        return self.http.json("GET", path, version="v2")["topology"]
