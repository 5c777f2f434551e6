"""Request schemas of /v2/sync-policies."""

from multisite.api import v2

REGION = {"type": "string", "minLength": 1, "maxLength": 255}
NAME = {"type": "string", "minLength": 1, "maxLength": 255}

CREATE = {
    "type": "object",
    "properties": {
        "sync_policy": {
            "type": "object",
            "properties": {
                "resource_type": {"type": "string", "enum": ["keypair", "security_group",
                                                              "flavor", "image"]},
                # a list of names/ids, or "all" (every resource of the type in the source)
                "resources": {"oneOf": [
                    {"type": "array", "items": NAME, "minItems": 1, "maxItems": 100},
                    {"type": "string", "enum": ["all"]}]},
                "source": REGION,
                # a list of regions, or "all" (every other region, added ones included)
                "targets": {"oneOf": [
                    {"type": "array", "items": REGION, "minItems": 1, "maxItems": 100},
                    {"type": "string", "enum": ["all"]}]},
                "on_drift": {"type": "string", "enum": ["observe", "enforce"]},
                "propagate_deletes": {"type": "boolean"},
                "force": {"type": "boolean"},
            },
            "required": ["resource_type", "resources", "source", "targets"],
            "additionalProperties": False,
        },
    },
    "required": ["sync_policy"],
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING})
SHOW_QUERY = v2.query_schema({})
