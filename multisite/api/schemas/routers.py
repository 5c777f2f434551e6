"""JSON Schemas of /v2/routers."""

from multisite.api import v2

TOPOLOGY_QUERY = v2.query_schema({})
