"""Request schemas of /v2/protection-plans and /v2/checkpoints."""

from multisite.api import v2

REGION = {"type": "string", "minLength": 1, "maxLength": 255}
SERVER = {"type": "string", "minLength": 1, "maxLength": 255}

CREATE = {
    "type": "object",
    "properties": {
        "protection_plan": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                "source_region": REGION,
                "backup_region": REGION,
                # ordered groups of server names or ids: the pause (quiesce) order
                "groups": {"type": "array", "minItems": 1, "maxItems": 50,
                           "items": {"type": "array", "minItems": 1, "maxItems": 100,
                                     "items": SERVER}},
                "method": {"type": "string",
                           "enum": ["pause", "quiesce", "none", "vm-snapshot", "replicate"]},
                # completed checkpoints kept (older ones and their backups are deleted)
                "retention": {"type": "integer", "minimum": 1, "maximum": 100},
                "schedule": {"oneOf": [
                    {"type": "null"},
                    {"type": "object",
                     "properties": {"interval": {"type": "integer", "minimum": 60,
                                                 "maximum": 31536000}},
                     "required": ["interval"], "additionalProperties": False}]},
            },
            "required": ["name", "source_region", "backup_region", "groups"],
            "additionalProperties": False,
        },
    },
    "required": ["protection_plan"],
    "additionalProperties": False,
}

CHECKPOINT_CREATE = {
    "type": "object",
    "properties": {"checkpoint": {"type": "object", "properties": {},
                                  "additionalProperties": False}},
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING})
CHECKPOINT_LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING,
                                         "plan_id": {"type": "string", "minLength": 1,
                                                     "maxLength": 36}})
SHOW_QUERY = v2.query_schema({})
