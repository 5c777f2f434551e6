"""Request schemas of image distribution (/v2/image-distributions, ensure, rollouts)."""

from multisite.api import v2

REGION = {"type": "string", "minLength": 1, "maxLength": 255}
MODES = ["none", "auto", "lazy", "controlled"]
TARGETS = {"oneOf": [{"type": "array", "items": REGION, "minItems": 1, "maxItems": 100},
                     {"type": "string", "enum": ["all"]}]}

SET = {
    "type": "object",
    "properties": {
        "image_distribution": {
            "type": "object",
            "properties": {
                "mode": {"type": "string", "enum": MODES},
                "source": REGION,
                "targets": TARGETS,
                "propagate_deletes": {"type": "boolean"},
            },
            "required": ["mode", "source"],
            "additionalProperties": False,
        },
    },
    "required": ["image_distribution"],
    "additionalProperties": False,
}

ENSURE = {
    "type": "object",
    "properties": {
        "region": REGION,
        "source": REGION,
        "wait": {"type": "boolean"},
        "timeout": {"type": "number", "minimum": 0, "maximum": 86400},
    },
    "required": ["region"],
    "additionalProperties": False,
}

ROLLOUT = {
    "type": "object",
    "properties": {
        "image_rollout": {
            "type": "object",
            "properties": {
                "image_id": {"type": "string", "minLength": 1, "maxLength": 64},
                "source": REGION,
                "waves": {"type": "array", "minItems": 1, "maxItems": 50,
                          "items": {"type": "array", "items": REGION, "minItems": 1,
                                    "maxItems": 100}},
                "pause": {"type": "number", "minimum": 0, "maximum": 604800},
                "manual_promote": {"type": "boolean"},
                "boot_check": {
                    "type": "object", "maxProperties": 1000,
                    "additionalProperties": {
                        "type": "object",
                        "properties": {
                            "flavor": {"type": "string", "minLength": 1, "maxLength": 255},
                            "network": {"type": "string", "minLength": 1, "maxLength": 64},
                            "timeout": {"type": "number", "minimum": 1, "maximum": 3600},
                        },
                        "required": ["flavor"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["image_id", "source", "waves"],
            "additionalProperties": False,
        },
    },
    "required": ["image_rollout"],
    "additionalProperties": False,
}

ACTION = {
    "type": "object",
    "properties": {"reason": {"type": "string", "maxLength": 1000}},
    "additionalProperties": False,
}

LIST_QUERY = v2.query_schema({**v2.SCOPE, **v2.PAGING})
SHOW_QUERY = v2.query_schema({})
