"""multisite identity node list|show, multisite identity rotate [--wait]."""

import sys

from multisite.cli import common

NODE_COLUMNS = ("NAME", "REGION", "URL", "FERNET_HASH", "LAST_ROTATION", "VERIFIED", "ERROR")


def _short(value, width=12):
    return value[:width] if value else "-"


def _verified(node):
    pairs = (node.get("last_verification") or {}).get("pairs") or {}
    if not pairs:
        return "-"
    good = sum(1 for status in pairs.values() if status == 200)
    return f"{good}/{len(pairs)}"


class ListNode(common.Lister):
    """List the Keystone nodes whose Fernet keys Multisite manages (admin)."""

    def take_action(self, parsed_args):
        nodes = common.client(self.app).identity.nodes()
        return NODE_COLUMNS, [
            (n["name"], n["region"], n["url"], _short(n["fernet_hash"]),
             (n.get("last_rotation") or {}).get("at") or "-", _verified(n), n.get("error") or "")
            for n in nodes]


class ShowNode(common.ShowOne):
    """Show one Keystone node: hashes, last rotation, last verification per pair."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="<node>", help="Node name ([identity] node)")
        return parser

    def take_action(self, parsed_args):
        node = common.client(self.app).identity.node(parsed_args.name)
        verification = node.get("last_verification") or {}
        fields = {"name": node["name"], "region": node["region"], "url": node["url"],
                  "agent_url": node["agent_url"], "fernet_hash": node["fernet_hash"],
                  "credential_hash": node["credential_hash"], "checked_at": node["checked_at"],
                  "error": node["error"],
                  "last_rotation": (node.get("last_rotation") or {}).get("id"),
                  "last_rotation_at": (node.get("last_rotation") or {}).get("at"),
                  "verified_at": verification.get("at")}
        for pair, status in sorted((verification.get("pairs") or {}).items()):
            fields[f"verification {pair}"] = status
        return tuple(fields), tuple(fields.values())


def _progress(rotation):
    nodes = ", ".join(f"{name}={entry.get('state')}"
                      for name, entry in sorted(rotation["nodes"].items()))
    line = f"{rotation['status']} phase={rotation['phase']}"
    if nodes:
        line += f" nodes: {nodes}"
    if rotation.get("error") and rotation["status"] != "done":
        line += f" ({rotation['error']})"
    sys.stderr.write(line + "\n")


class Rotate(common.ShowOne):
    """Rotate the Fernet keys (or, with --credential, the credential keys) of every Keystone
    node now (admin).

    Distributes a staged repository to every node, promotes only when all confirmed it,
    then verifies that a token of each Keystone validates at every other (credential keys:
    re-encrypts the credentials on one node, then checks every Keystone reads them)."""

    failed = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--credential", action="store_true",
                            help="Rotate Keystone's credential encryption keys instead of "
                                 "the Fernet token keys")
        parser.add_argument("--wait", action="store_true",
                            help="Follow the rotation until it ends; exit 1 if it failed")
        parser.add_argument("--poll-interval", type=common.positive_float, default=1.0,
                            metavar="<seconds>", help="Seconds between polls (default 1)")
        parser.add_argument("--timeout", type=common.positive_float, default=600.0,
                            metavar="<seconds>", help="Give up waiting after (default 600)")
        return parser

    def take_action(self, parsed_args):
        manager = common.client(self.app).identity
        rotation = manager.rotate("credential" if parsed_args.credential else None)
        if parsed_args.wait:
            sys.stderr.write(f"Key rotation {rotation['id']} started; waiting for it\n")
            try:
                rotation = manager.wait(rotation["id"], interval=parsed_args.poll_interval,
                                        timeout=parsed_args.timeout, on_change=_progress)
            except TimeoutError as exc:
                raise common.CommandError(str(exc)) from None
            self.failed = rotation["status"] != "done"
        fields = {"id": rotation["id"], "repository": rotation.get("repository", "fernet"),
                  "status": rotation["status"],
                  "phase": rotation["phase"], "final_hash": rotation.get("final_hash"),
                  "error": rotation.get("error")}
        for pair, status in sorted((rotation.get("verification") or {}).items()):
            fields[f"verification {pair}"] = status
        return tuple(fields), tuple(fields.values())

    def run(self, parsed_args):
        result = super().run(parsed_args)
        return 1 if self.failed else result
