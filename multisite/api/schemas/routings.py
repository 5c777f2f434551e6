"""Request schemas of /v1.0/routings (Tricircle's fields)."""

from multisite.api import v2
from multisite.objects import routings

ID = {"type": "string", "minLength": 1, "maxLength": 127, "pattern": r"\S"}
POD_ID = {"type": "string", "minLength": 1, "maxLength": 36, "pattern": r"\S"}
PROJECT_ID = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"\S"}
RESOURCE_TYPE = {"type": "string", "enum": list(routings.RESOURCE_TYPES)}
INTEGER = {"type": "string", "pattern": "^[0-9]{1,18}$"}

FIELDS = {"top_id": ID, "bottom_id": ID, "pod_id": POD_ID, "project_id": PROJECT_ID,
          "resource_type": RESOURCE_TYPE}

CREATE = {
    "type": "object",
    "properties": {
        "routing": {
            "type": "object",
            "properties": FIELDS,
            "required": list(FIELDS),
            "additionalProperties": False,
        },
    },
    "required": ["routing"],
    "additionalProperties": False,
}

UPDATE = {
    "type": "object",
    "properties": {
        "routing": {
            "type": "object",
            "properties": FIELDS,
            "minProperties": 1,
            "additionalProperties": False,
        },
    },
    "required": ["routing"],
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({
    "id": INTEGER, "top_id": ID, "bottom_id": ID, "pod_id": POD_ID, "project_id": PROJECT_ID,
    "resource_type": RESOURCE_TYPE, "limit": v2.LIMIT, "marker": INTEGER})
SHOW_QUERY = v2.query_schema({})
