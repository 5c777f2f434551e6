"""Request schemas of os-sync (Kingbird v1.0 wire format, parsed as JSON)."""

RESOURCE_TYPES = ["keypair", "image", "flavor", "security_group"]
REGION = {"type": "string", "minLength": 1, "maxLength": 255}
NAME = {"type": "string", "minLength": 1, "maxLength": 255}

# python-kingbirdclient sends the strings "True"/"False"; JSON booleans work too.
FORCE = {"oneOf": [{"type": "boolean"},
                   {"type": "string", "enum": ["True", "False", "true", "false"]}]}

ENTRY = {
    "type": "object",
    "properties": {
        "resource_type": {"type": "string", "enum": RESOURCE_TYPES},
        "resources": {"type": "array", "items": NAME, "minItems": 1, "maxItems": 100},
        "source": {"oneOf": [REGION, {"type": "array", "items": REGION, "minItems": 1,
                                      "maxItems": 20}]},
        "target": {"type": "array", "items": REGION, "minItems": 1, "maxItems": 50},
        "force": FORCE,
    },
    "required": ["resource_type", "resources", "source", "target"],
    "additionalProperties": False,
}

TEMPLATE = {
    "type": "object",
    "properties": {"Sync": {"type": "array", "items": ENTRY, "minItems": 1, "maxItems": 50}},
    "required": ["Sync"],
    "additionalProperties": False,
}

CREATE = {
    "type": "object",
    "properties": {"resource_set": {"oneOf": [ENTRY, TEMPLATE]}},
    "required": ["resource_set"],
    "additionalProperties": False,
}

# Rows one job may have (resources x sources x targets, summed over entries).
MAX_ROWS = 1000

LIST_QUERY = {
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": "^[0-9]{1,6}$"},
        "marker": {"type": "string", "maxLength": 36},
        "all_projects": {"type": "string",
                         "enum": ["true", "false", "True", "False", "1", "0"]},
        "verbose": {"type": "string", "enum": ["true", "false", "True", "False", "1", "0"]},
    },
    "additionalProperties": False,
}
