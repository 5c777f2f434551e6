"""Body and query schemas of /v2/identity/key-rotations."""

from multisite.api import v2

CREATE = {
    "type": "object",
    "properties": {"key_rotation": {
        "type": "object",
        # fernet: token keys (default); credential: Keystone's credential encryption keys
        "properties": {"repository": {"type": "string", "enum": ["fernet", "credential"]}},
        "additionalProperties": False}},
    "additionalProperties": False,
}
LIST_QUERY = v2.query_schema({"limit": v2.LIMIT})
SHOW_QUERY = v2.query_schema({})
