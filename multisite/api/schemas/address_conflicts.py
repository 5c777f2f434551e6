"""Query and body schemas of /v2/address-conflicts."""

from multisite.api import v2

KINDS = ("ip", "cidr", "mac", "public_ip")

FILTERS = {
    "kind": {"type": "string", "enum": list(KINDS)},
    "region": {"type": "string", "minLength": 1, "maxLength": 255},
    "address": {"type": "string", "minLength": 1, "maxLength": 100},
    "include_cleared": v2.BOOLEAN,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING, **FILTERS})
SHOW_QUERY = v2.query_schema({})
CHECK_QUERY = v2.query_schema({})

_NAME = {"type": "string", "minLength": 1, "maxLength": 255}
CHECK = {
    "type": "object",
    "properties": {
        "cidr": {"type": "string", "minLength": 2, "maxLength": 64},
        "project_id": v2.PROJECT_ID,
        "region": _NAME,
        "network_name": _NAME,
        "tags": {"type": "array", "items": _NAME, "maxItems": 64},
        "address_scope": _NAME,
    },
    "required": ["cidr"],
    "additionalProperties": False,
}
