"""Request schemas of os-quota-settings (a Multisite extension, not in Kingbird)."""

UPDATE = {
    "type": "object",
    "properties": {
        "quota_settings": {
            "type": "object",
            "properties": {
                # null: the [DEFAULT] quota_policy applies
                "quota_policy": {"enum": ["kingbird", "strict", None]},
                # null: rebalanced when it has limits (or [scheduler] sync_all_projects);
                # true: always (opted in); false: never (opted out)
                "quota_sync": {"type": ["boolean", "null"]},
            },
            "additionalProperties": False,
            "minProperties": 1,
        },
    },
    "required": ["quota_settings"],
    "additionalProperties": False,
}
