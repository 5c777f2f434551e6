"""Request schemas of POST /v2/checkpoints/{id}/restore and /v2/restores."""

from multisite.api import v2

CREATE = {
    "type": "object",
    "properties": {
        "restore": {
            "type": "object",
            "properties": {
                # the region to restore into: the plan's backup region
                "region": {"type": "string", "minLength": 1, "maxLength": 255},
                "mode": {"type": "string", "enum": ["drill", "failover"]},
                # a failover's token, returned by a previous call without one
                "confirm": {"type": "string", "minLength": 1, "maxLength": 64},
                # a drill's target project (id), when not the plan's (policy
                # multisite:restores:drill_into_project)
                "target_project_id": {"type": "string", "minLength": 1, "maxLength": 64,
                                      "pattern": "^[A-Za-z0-9_-]+$"},
            },
            "required": ["region", "mode"],
            "additionalProperties": False,
        },
    },
    "required": ["restore"],
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING,
                              "checkpoint_id": {"type": "string", "minLength": 1,
                                                "maxLength": 36}})
SHOW_QUERY = v2.query_schema({})
