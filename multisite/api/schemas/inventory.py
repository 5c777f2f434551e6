"""Query schemas of /v2/inventory."""

from multisite.api import v2

TYPES = ("servers", "volumes", "networks", "subnets", "ports", "routers", "floating_ips",
         "security_groups", "keypairs", "images")

FILTERS = {
    "type": {"type": "string", "enum": list(TYPES)},
    "region": {"type": "string", "minLength": 1, "maxLength": 255},
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "refresh": v2.BOOLEAN,
}
# One project per call (the regions are read live): no all_projects.
SCOPE = {"project_id": v2.PROJECT_ID}

LIST_QUERY = v2.query_schema({**SCOPE, **v2.PAGING, **FILTERS})
SUMMARY_QUERY = v2.query_schema({**SCOPE, "region": FILTERS["region"],
                                 "refresh": v2.BOOLEAN})
