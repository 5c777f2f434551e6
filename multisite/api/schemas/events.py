"""Query schemas of /v2/events."""

from multisite.api import v2

FILTERS = {
    "region": {"type": "string", "minLength": 1, "maxLength": 255},
    "event_type": {"type": "string", "minLength": 1, "maxLength": 255},
    "resource_id": {"type": "string", "minLength": 1, "maxLength": 255},
    "since": v2.TIME,
    "until": v2.TIME,
    "sort_dir": v2.SORT_DIR,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING, **FILTERS})
SHOW_QUERY = v2.query_schema({})
