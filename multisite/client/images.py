"""Image distribution: /v2/image-distributions, /v2/images/{id}/ensure, /v2/image-rollouts."""

from multisite.client import http

MODES = ("none", "auto", "lazy", "controlled")


class ImageManager:
    def __init__(self, http):
        self.http = http

    # -- modes ---------------------------------------------------------------------------
    def set_distribution(self, *, mode, source, image_id=None, targets="all",
                         propagate_deletes=False):
        """The mode of the project (image_id None) or of one image; `targets`: list or "all"."""
        body = {"image_distribution": {"mode": mode, "source": source, "targets": targets,
                                       "propagate_deletes": bool(propagate_deletes)}}
        return self.http.json("PUT", f"/image-distributions/{image_id or 'default'}",
                              body=body, version="v2")["image_distribution"]

    def get_distribution(self, image_id=None):
        return self.http.json("GET", f"/image-distributions/{image_id or 'default'}",
                              version="v2")["image_distribution"]

    def list_distributions(self, *, all_projects=False, limit=None, marker=None):
        return self.http.json("GET", "/image-distributions",
                              params=http.page_params(all_projects, limit, marker),
                              version="v2")["image_distributions"]

    def delete_distribution(self, image_id=None):
        return self.http.json("DELETE", f"/image-distributions/{image_id or 'default'}",
                              version="v2")

    # -- lazy ----------------------------------------------------------------------------
    def ensure(self, image_id, region, *, source=None, wait=False, timeout=None):
        body = {"region": region, "wait": bool(wait)}
        if source:
            body["source"] = source
        if timeout is not None:
            body["timeout"] = timeout
        return self.http.json("POST", f"/images/{image_id}/ensure", body=body,
                              version="v2")["image_copy"]

    # -- rollouts ------------------------------------------------------------------------
    def start_rollout(self, *, image_id, source, waves, pause=None, manual_promote=False,
                      boot_check=None):
        body = {"image_rollout": {"image_id": image_id, "source": source, "waves": waves,
                                  "manual_promote": bool(manual_promote)}}
        if pause is not None:
            body["image_rollout"]["pause"] = pause
        if boot_check:
            body["image_rollout"]["boot_check"] = boot_check
        return self.http.json("POST", "/image-rollouts", body=body,
                              version="v2")["image_rollout"]

    def list_rollouts(self, *, all_projects=False, limit=None, marker=None):
        return self.http.json("GET", "/image-rollouts",
                              params=http.page_params(all_projects, limit, marker),
                              version="v2")["image_rollouts"]

    def get_rollout(self, rollout_id):
        return self.http.json("GET", f"/image-rollouts/{rollout_id}",
                              version="v2")["image_rollout"]

    def act(self, rollout_id, action, reason=None):
        """promote, abort or rollback."""
        body = {"reason": reason} if reason else None
        return self.http.json("POST", f"/image-rollouts/{rollout_id}/{action}", body=body,
                              version="v2")["image_rollout"]
