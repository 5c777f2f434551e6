"""/v2/identity/key-rotations: start a Fernet (or credential) key rotation, follow it node by
node."""

from multisite.api import errors, v2, wsgi
from multisite.api.handlers import common
from multisite.api.policies import key_rotations as policies
from multisite.api.schemas import key_rotations as schemas
from multisite.objects import identity_nodes, key_rotations


def serialize(rotation):
    keep = ("id", "repository", "status", "phase", "reason", "base_node", "staged_hash",
            "final_hash", "nodes", "verification", "error", "created_at", "updated_at",
            "finished_at")
    return v2.jsonable({k: rotation[k] for k in keep})


def create(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.CREATE, {"project_id": ctx.project_id})
    body = wsgi.json_body(req, required=False) or {}
    common.validate(schemas.CREATE, body, code="key_rotation.invalid",
                    prefix="Invalid key rotation")
    if not identity_nodes.parse_config(conf.identity.node):
        raise errors.HTTPError(409, "identity.no_nodes",
                               "No Keystone node is configured ([identity] node)")
    repository = (body.get("key_rotation") or {}).get("repository", key_rotations.FERNET)
    rotation = key_rotations.create(conf, reason="request", repository=repository)
    return wsgi.json_response({"key_rotation": serialize(rotation)}, status=202)


def list_rotations(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    query = v2.parse_query(req, schemas.LIST_QUERY)
    limit, _marker = v2.page(conf, query)
    found = key_rotations.list_rotations(conf, limit=limit)
    return wsgi.json_response({"key_rotations": [serialize(r) for r in found]})


def show(req, rotation_id):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    return wsgi.json_response({"key_rotation": serialize(key_rotations.get(conf, rotation_id))})
