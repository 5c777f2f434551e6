"""Request schemas of /v1.0/jobs (Tricircle's fields)."""

from multisite.api import v2
from multisite.objects import jobs

ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[^#\s]+$"}

CREATE = {
    "type": "object",
    "properties": {
        "job": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": sorted(jobs.TYPES)},
                "project_id": {"type": "string", "minLength": 1, "maxLength": 64,
                               "pattern": r"\S"},
                # the type's resource fields, exactly (checked against jobs.TYPES)
                "resource": {"type": "object", "additionalProperties": ID,
                             "maxProperties": 8},
            },
            "required": ["type", "project_id", "resource"],
            "additionalProperties": False,
        },
    },
    "required": ["job"],
    "additionalProperties": False,
}

# status in any case (Tricircle accepts new, New, NEW)
def _any_case(word):
    return "".join(f"[{c.upper()}{c}]" for c in word)


STATUS = {"type": "string", "pattern": "^(" + "|".join(
    _any_case(w) for w in ("new", "running", "success", "fail")) + ")$"}
LIST_QUERY = v2.query_schema({"project_id": v2.PROJECT_ID, "type": {"type": "string",
                              "enum": sorted(jobs.TYPES)}, "status": STATUS,
                              "limit": v2.LIMIT, "marker": v2.MARKER})
SHOW_QUERY = v2.query_schema({})
