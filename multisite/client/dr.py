"""/v2/protection-plans and /v2/checkpoints: VNF disaster recovery."""

from multisite.client import http

METHODS = ("pause", "quiesce", "none", "vm-snapshot", "replicate")
FINISHED = ("completed", "failed")


class DrManager:
    def __init__(self, http):
        self.http = http

    def create_plan(self, *, name, source_region, backup_region, groups, method=None,
                    retention=None, schedule_interval=None):
        spec = {"name": name, "source_region": source_region, "backup_region": backup_region,
                "groups": groups}
        if method:
            spec["method"] = method
        if retention is not None:
            spec["retention"] = retention
        if schedule_interval:
            spec["schedule"] = {"interval": schedule_interval}
        return self.http.json("POST", "/protection-plans", body={"protection_plan": spec},
                              version="v2")["protection_plan"]

    def list_plans(self, *, all_projects=False, limit=None, marker=None):
        params = http.page_params(all_projects, limit, marker)
        return self.http.json("GET", "/protection-plans", version="v2",
                              params=params)["protection_plans"]

    def get_plan(self, plan_id):
        return self.http.json("GET", f"/protection-plans/{plan_id}",
                              version="v2")["protection_plan"]

    def delete_plan(self, plan_id):
        return self.http.json("DELETE", f"/protection-plans/{plan_id}", version="v2")

    def discover_plan(self, plan_id):
        return self.http.json("POST", f"/protection-plans/{plan_id}/discover",
                              version="v2")["protection_plan"]

    def create_checkpoint(self, plan_id):
        return self.http.json("POST", f"/protection-plans/{plan_id}/checkpoints",
                              version="v2")["checkpoint"]

    def list_checkpoints(self, *, plan_id=None, all_projects=False, limit=None, marker=None):
        return self.http.json("GET", "/checkpoints", version="v2",
                              params=http.page_params(all_projects, limit, marker,
                                           plan_id=plan_id))["checkpoints"]

    def get_checkpoint(self, checkpoint_id):
        return self.http.json("GET", f"/checkpoints/{checkpoint_id}",
                              version="v2")["checkpoint"]
