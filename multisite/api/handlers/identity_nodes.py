"""/v2/identity/nodes: every managed Keystone node and what Multisite last saw of it."""

from multisite.api import v2, wsgi
from multisite.api.policies import identity_nodes as policies
from multisite.api.schemas import identity_nodes as schemas
from multisite.objects import identity_nodes


def serialize(node):
    return v2.jsonable({
        "name": node["name"], "region": node["region"], "url": node["keystone_url"],
        "agent_url": node["agent_url"], "fernet_hash": node["fernet_hash"],
        "credential_hash": node["credential_hash"], "checked_at": node["checked_at"],
        "error": node["error"], "last_rotation": {"id": node["last_rotation_id"],
                                                  "at": node["last_rotation_at"]},
        "last_verification": {"pairs": node["last_verification"],
                              "at": node["last_verified_at"]},
        "last_drift": {"at": node["drift_at"], "hash": node["drift_hash"],
                       "repaired": node["drift_repaired"]}})


def list_nodes(req):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.LIST, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.LIST_QUERY)
    found = identity_nodes.list_nodes(conf, identity_nodes.parse_config(conf.identity.node))
    return wsgi.json_response({"nodes": [serialize(n) for n in found]})


def show(req, name):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    ctx.can(policies.SHOW, {"project_id": ctx.project_id})
    v2.parse_query(req, schemas.SHOW_QUERY)
    configured = identity_nodes.parse_config(conf.identity.node)
    return wsgi.json_response({"node": serialize(identity_nodes.get(conf, name, configured))})
