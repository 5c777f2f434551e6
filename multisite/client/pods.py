"""/v1.0/pods, /v1.0/routings and /v1.0/jobs: the big region's pods (Tricircle's API)."""


def _params(**kw):
    return {k: str(v) for k, v in kw.items() if v is not None}


class PodManager:
    def __init__(self, http):
        self.http = http

    def _json(self, method, path, **kw):
        return self.http.json(method, path, project_scoped=False, **kw)

    def create(self, region_name, *, az_name=None, pod_az_name=None, dc_name=None):
        """The top region (no `az_name`) or a bottom pod of an AZ."""
        pod = {"region_name": region_name}
        pod.update(_params(az_name=az_name, pod_az_name=pod_az_name, dc_name=dc_name))
        return self._json("POST", "/pods", body={"pod": pod})["pod"]

    def list(self, *, az_name=None):
        return self._json("GET", "/pods", params=_params(az_name=az_name))["pods"]

    def get(self, pod_id):
        return self._json("GET", f"/pods/{pod_id}")["pod"]

    def delete(self, pod_id):
        return self._json("DELETE", f"/pods/{pod_id}")


class RoutingManager(PodManager):
    def create(self, **fields):
        return self._json("POST", "/routings", body={"routing": fields})["routing"]

    def list(self, *, limit=None, marker=None, **filters):
        """Every routing matching the filters, following `routings_links` (newest first)."""
        params = _params(limit=limit, marker=marker, **filters)
        found = []
        while True:
            body = self._json("GET", "/routings", params=params)
            found += body["routings"]
            if not body.get("routings_links") or limit is not None:
                return found
            params["marker"] = str(found[-1]["id"])

    def get(self, routing_id):
        return self._json("GET", f"/routings/{routing_id}")["routing"]

    def update(self, routing_id, **fields):
        return self._json("PUT", f"/routings/{routing_id}", body={"routing": fields})["routing"]

    def delete(self, routing_id):
        return self._json("DELETE", f"/routings/{routing_id}")


class JobManager(PodManager):
    def create(self, *, job_type, project_id, resource):
        body = {"job": {"type": job_type, "project_id": project_id, "resource": resource}}
        return self._json("POST", "/jobs", body=body)["job"]

    def list(self, *, project_id=None, job_type=None, status=None, limit=None, marker=None):
        return self._json("GET", "/jobs", params=_params(
            project_id=project_id, type=job_type, status=status, limit=limit,
            marker=marker))["jobs"]

    def schemas(self):
        return self._json("GET", "/jobs/schemas")["schemas"]

    def get(self, job_id):
        return self._json("GET", f"/jobs/{job_id}")["job"]

    def redo(self, job_id):
        return self._json("PUT", f"/jobs/{job_id}")["job"]

    def delete(self, job_id):
        return self._json("DELETE", f"/jobs/{job_id}")
