"""os-sync: resource synchronisation jobs (keypair, flavor, image)."""

import json
import os

import yaml

from multisite.client import http

RESOURCE_TYPES = ("keypair", "flavor", "image", "security_group")
FINISHED = ("SUCCESS", "FAILURE")
_REQUIRED = ("resource_type", "resources", "source", "target")


class TemplateError(ValueError):
    """A sync template file that cannot be used."""


def load_template(path):
    """The ``Sync`` entries of a .json/.yaml/.yml template, checked like kingbirdclient does."""
    ext = os.path.splitext(path)[1].lower()
    try:
        with open(path, encoding="utf-8") as handle:
            if ext == ".json":
                data = json.load(handle)
            elif ext in (".yaml", ".yml"):
                data = yaml.safe_load(handle)
            else:
                raise TemplateError(f"{path}: the template must be .json, .yaml or .yml")
    except OSError as exc:
        raise TemplateError(f"Cannot read {path}: {exc.strerror}") from None
    except (ValueError, yaml.YAMLError) as exc:
        raise TemplateError(f"Syntax error in {path}: {exc}") from None
    entries = data.get("Sync") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise TemplateError(f"{path}: expected a non-empty 'Sync' list")
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise TemplateError(f"{path}: Sync entry {number} is not a mapping")
        missing = [key for key in _REQUIRED if not entry.get(key)]
        if missing:
            raise TemplateError(f"{path}: Sync entry {number} lacks {', '.join(missing)}")
    return entries


class SyncJobManager:
    def __init__(self, http):
        self.http = http

    def create(self, *, resource_type, resources, source, target, force=False):
        """Start a job; returns {"id", "status", "created_at"}."""
        body = {"resource_set": {"resource_type": resource_type, "resources": list(resources),
                                 "source": source, "target": list(target),
                                 "force": bool(force)}}
        return self.http.json("POST", "/os-sync/", body=body)["job_status"]

    def create_from_template(self, entries):
        """Start one job from several ``Sync`` entries (see load_template)."""
        body = {"resource_set": {"Sync": list(entries)}}
        return self.http.json("POST", "/os-sync/", body=body)["job_status"]

    def list(self, *, active=False, all_projects=False, limit=None, marker=None):
        """The jobs (dicts with id, sync_status, created_at, updated_at, ...)."""
        params = http.page_params(all_projects, limit, marker)
        path = "/os-sync/active" if active else "/os-sync/"
        return self.http.json("GET", path, params=params)["job_set"]

    def get(self, job_id):
        """The job's rows, one per (resource, source, target)."""
        return self.http.json("GET", f"/os-sync/{job_id}")["job_set"]

    def delete(self, job_id):
        return self.http.json("DELETE", f"/os-sync/{job_id}")
