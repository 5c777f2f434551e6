"""/v2/protection-plans, /v2/checkpoints and /v2/restores: VNF disaster recovery."""

from multisite.client import exceptions, http

METHODS = ("pause", "quiesce", "none", "vm-snapshot", "replicate")
FINISHED = ("completed", "failed")
CONFIRMATION_REQUIRED = "restore.confirmation_required"


class ConfirmationRequired(exceptions.Conflict):
    """A failover was not started: repeat it with `token` (what it would do: `restore`)."""

    def __init__(self, error):
        super().__init__(error.message, status=error.status, code=error.code,
                         request_id=error.request_id)
        confirmation = (error.body or {}).get("confirmation") or {}
        self.token = confirmation.get("token")
        self.expires_at = confirmation.get("expires_at")
        self.restore = confirmation.get("restore") or {}


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

    def restore(self, checkpoint_id, *, region, mode, confirm=None, target_project_id=None):
        """Start a drill or failover; a failover without a valid token raises
        ConfirmationRequired carrying a new one. A drill goes into `target_project_id`
        when given (admin)."""
        spec = {"region": region, "mode": mode}
        if confirm:
            spec["confirm"] = confirm
        if target_project_id:
            spec["target_project_id"] = target_project_id
        try:
            return self.http.json("POST", f"/checkpoints/{checkpoint_id}/restore",
                                  body={"restore": spec}, version="v2")["restore"]
        except exceptions.Conflict as exc:
            if exc.code == CONFIRMATION_REQUIRED:
                raise ConfirmationRequired(exc) from None
            raise

    def list_restores(self, *, checkpoint_id=None, all_projects=False, limit=None,
                      marker=None):
        return self.http.json("GET", "/restores", version="v2",
                              params=http.page_params(all_projects, limit, marker,
                                                      checkpoint_id=checkpoint_id))["restores"]

    def get_restore(self, restore_id):
        return self.http.json("GET", f"/restores/{restore_id}", version="v2")["restore"]
