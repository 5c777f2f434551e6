"""/v2/regions and /v2/capacity: every region's health and capacity."""


class RegionManager:
    def __init__(self, http):
        self.http = http

    def list(self):
        return self.http.v2_collection("/regions", "regions")

    def get(self, name):
        return self.http.json("GET", f"/regions/{name}", version="v2")["region"]

    def capacity(self, region=None):
        """{"regions": [...], "total": {...}}; one region's with ``region``."""
        path = f"/capacity/{region}" if region else "/capacity"
        return self.http.json("GET", path, version="v2")["capacity"]
