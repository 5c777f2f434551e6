"""Query schemas of /v2/addresses."""

from multisite.api import v2

KINDS = ("fixed_ip", "allowed_pair", "floating_ip", "gateway_ip", "public_ip", "subnet",
         "pool", "mac")

FILTERS = {
    "ip": {"type": "string", "minLength": 2, "maxLength": 64},
    "cidr": {"type": "string", "minLength": 2, "maxLength": 64},
    "mac": {"type": "string", "minLength": 12, "maxLength": 17},
    "region": {"type": "string", "minLength": 1, "maxLength": 255},
    "kind": {"type": "string", "enum": list(KINDS)},
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING, **FILTERS})
SHOW_QUERY = v2.query_schema({})
