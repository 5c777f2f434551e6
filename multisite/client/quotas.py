"""os-quota-sets: global limits, usage, on-demand sync and per-region sync status."""

QUOTA_RESOURCES = (
    "instances", "cores", "ram", "metadata_items", "key_pairs", "floating_ips", "fixed_ips",
    "security_groups", "network", "subnet", "port", "router", "floatingip", "security_group",
    "security_group_rule", "volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes",
)

UNREACHABLE_HEADER = "X-Multisite-Unreachable-Regions"


class QuotaManager:
    def __init__(self, http):
        self.http = http

    def _target(self, project):
        return project or self.http.project_id

    def defaults(self):
        """{resource: limit} of the defaults."""
        return self.http.json("GET", "/os-quota-sets/defaults")["quota_set"]

    def get(self, project=None):
        """{resource: limit} of a project (own project when None)."""
        return self.http.json("GET", f"/os-quota-sets/{self._target(project)}")["quota_set"]

    def detail(self, project=None):
        """{"limits": {...}, "usage": {...}, "unreachable_regions": [...]}."""
        response = self.http.request("GET", f"/os-quota-sets/{self._target(project)}/detail")
        body = response.json()["quota_set"]
        header = response.headers.get(UNREACHABLE_HEADER, "")
        return {"limits": body.get("limits", {}), "usage": body.get("usage", {}),
                "unreachable_regions": [r for r in header.split(",") if r]}

    def update(self, project, **limits):
        """Set limits; returns {resource: limit} of the keys sent."""
        body = self.http.json("PUT", f"/os-quota-sets/{project}", body={"quota_set": limits})
        return body.get(project, body)

    def delete(self, project, resources=None):
        """Delete all of a project's limits, or only ``resources``; returns the server text."""
        body = {"quota_set": list(resources)} if resources else None
        return self.http.json("DELETE", f"/os-quota-sets/{project}", body=body)

    def sync(self, project):
        """Trigger an on-demand rebalance of a project's limits across regions."""
        return self.http.json("PUT", f"/os-quota-sets/{project}/sync")

    def sync_status(self, project=None):
        """Per-region outcome of the last rebalance: a list of dicts."""
        return self.sync_summary(project)["sync_status"]

    def sync_summary(self, project=None):
        """The whole sync-status answer: ``sync_status`` (the regions' outcomes),
        ``sync_requested_at`` (ISO time or None) and ``sync_pending`` (bool)."""
        target = self._target(project)
        return self.http.json("GET", f"/os-quota-sync-status/{target}")

    def settings(self, project=None):
        """The project's rebalancing settings (Multisite extension os-quota-settings)."""
        target = self._target(project)
        return self.http.json("GET", f"/os-quota-settings/{target}")["quota_settings"]

    def update_settings(self, project, **settings):
        """Set quota_policy ("kingbird"/"strict"/None) and/or quota_sync (True/False/None)."""
        body = {"quota_settings": settings}
        return self.http.json("PUT", f"/os-quota-settings/{project}",
                              body=body)["quota_settings"]
