"""Query schemas of /v2/identity/nodes."""

from multisite.api import v2

LIST_QUERY = v2.query_schema({})
SHOW_QUERY = v2.query_schema({})
