"""/v2/identity: Keystone nodes and Fernet key rotations."""

import time

FINISHED = ("done", "failed")


class IdentityManager:
    def __init__(self, http):
        self.http = http

    def nodes(self):
        return self.http.json("GET", "/identity/nodes", version="v2")["nodes"]

    def node(self, name):
        return self.http.json("GET", f"/identity/nodes/{name}", version="v2")["node"]

    def rotate(self, repository=None):
        """Start a rotation now (of the Fernet keys, or ``repository="credential"``);
        returns it (status running)."""
        body = {"key_rotation": {"repository": repository}} if repository else {}
        return self.http.json("POST", "/identity/key-rotations", body=body,
                              version="v2")["key_rotation"]

    def rotation(self, rotation_id):
        return self.http.json("GET", f"/identity/key-rotations/{rotation_id}",
                              version="v2")["key_rotation"]

    def rotations(self, limit=None):
        params = {"limit": str(limit)} if limit else None
        return self.http.json("GET", "/identity/key-rotations", params=params,
                              version="v2")["key_rotations"]

    def wait(self, rotation_id, *, interval=1.0, timeout=600.0, on_change=None):
        """Poll until the rotation is done or failed; calls on_change(rotation) on changes."""
        deadline = time.monotonic() + timeout
        seen = None
        while True:
            rotation = self.rotation(rotation_id)
            state = (rotation["status"], rotation["phase"], rotation.get("error"))
            if state != seen and on_change is not None:
                on_change(rotation)
            seen = state
            if rotation["status"] in FINISHED:
                return rotation
            if time.monotonic() > deadline:
                raise TimeoutError(f"Key rotation {rotation_id} still {rotation['status']} "
                                   f"({rotation['phase']}) after {timeout:.0f} s")
            time.sleep(interval)
