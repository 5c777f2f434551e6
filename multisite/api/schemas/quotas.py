"""Request schemas of os-quota-sets."""

from multisite.conf.global_limit import DEFAULT_LIMITS

RESOURCES = list(DEFAULT_LIMITS)

# -1 means unlimited; 0 is a real limit. The upper bound fits every database's INT.
LIMIT = {"type": "integer", "minimum": -1, "maximum": 2**31 - 1}

LIMITS = {
    "type": "object",
    "properties": {name: LIMIT for name in RESOURCES},
    "additionalProperties": False,
    "minProperties": 1,
}

UPDATE = {
    "type": "object",
    "properties": {"quota_set": LIMITS},
    "required": ["quota_set"],
    "additionalProperties": False,
}

RESOURCE_NAME = {"type": "string", "enum": RESOURCES}

DELETE = {
    "type": "object",
    "properties": {
        "quota_set": {
            "oneOf": [
                {"type": "array", "items": RESOURCE_NAME, "minItems": 1},
                {"type": "object", "propertyNames": RESOURCE_NAME, "minProperties": 1},
            ],
        },
    },
    "required": ["quota_set"],
    "additionalProperties": False,
}
