"""Request schemas of os-quota-class-sets."""

from multisite.api.schemas import quotas

CLASS_NAME_PATTERN = r"^[A-Za-z0-9_.:~-]{1,255}$"

UPDATE = {
    "type": "object",
    "properties": {
        "quota_class_set": {
            "type": "object",
            "properties": {**quotas.LIMITS["properties"], "class_name": {"type": "string"}},
            "additionalProperties": False,
            "minProperties": 1,
        },
    },
    "required": ["quota_class_set"],
    "additionalProperties": False,
}
