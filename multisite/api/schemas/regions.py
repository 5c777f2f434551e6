"""Query schemas of /v2/regions and /v2/capacity."""

from multisite.api import v2

LIST_QUERY = v2.query_schema(v2.PAGING)
SHOW_QUERY = v2.query_schema({})
CAPACITY_QUERY = v2.query_schema({"region": {"type": "string", "minLength": 1,
                                             "maxLength": 255}})
