"""/v2/sync-policies: resources kept converged from a source region (continuous sync)."""

from multisite.client import http

RESOURCE_TYPES = ("keypair", "security_group", "flavor", "image")


class SyncPolicyManager:
    def __init__(self, http):
        self.http = http

    def create(self, *, resource_type, resources, source, targets, on_drift="observe",
               propagate_deletes=False, force=False):
        """`resources`/`targets`: lists, or "all"."""
        body = {"sync_policy": {"resource_type": resource_type, "resources": resources,
                                "source": source, "targets": targets, "on_drift": on_drift,
                                "propagate_deletes": bool(propagate_deletes),
                                "force": bool(force)}}
        return self.http.json("POST", "/sync-policies", body=body, version="v2")["sync_policy"]

    def list(self, *, all_projects=False, limit=None, marker=None):
        params = http.page_params(all_projects, limit, marker)
        return self.http.json("GET", "/sync-policies", params=params,
                              version="v2")["sync_policies"]

    def get(self, policy_id):
        return self.http.json("GET", f"/sync-policies/{policy_id}", version="v2")["sync_policy"]

    def delete(self, policy_id):
        return self.http.json("DELETE", f"/sync-policies/{policy_id}", version="v2")

    def audit(self, policy_id):
        """Audit now (repair in enforce mode) and wait; the policy with its target states."""
        return self.http.json("POST", f"/sync-policies/{policy_id}/audit",
                              version="v2")["sync_policy"]
