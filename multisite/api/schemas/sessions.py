"""Request schema of the dashboard's session (login) endpoint."""

NAME = {"type": "string", "minLength": 1, "maxLength": 255}

CREATE = {
    "type": "object",
    "properties": {"session": {
        "type": "object",
        "properties": {
            "username": NAME,
            "password": {"type": "string", "minLength": 1, "maxLength": 4096},
            "project": NAME,
            "domain": NAME,
        },
        "required": ["username", "password", "project"],
        "additionalProperties": False,
    }},
    "required": ["session"],
    "additionalProperties": False,
}
