"""Request schemas of /v1.0/pods (Tricircle 2.0.1 field names and the later ones)."""

from multisite.api import v2

NAME = {"type": "string", "maxLength": 255}

CREATE = {
    "type": "object",
    "properties": {
        "pod": {
            "type": "object",
            "properties": {
                # the Keystone region: `pod_name` in Tricircle 2.0.1, `region_name` later
                "pod_name": NAME,
                "region_name": NAME,
                "az_name": NAME,
                "pod_az_name": NAME,
                "dc_name": NAME,
            },
            "additionalProperties": False,
        },
    },
    "required": ["pod"],
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({"az_name": NAME})
SHOW_QUERY = v2.query_schema({})
