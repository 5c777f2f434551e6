"""/v2/routers/{id}/topology: a top router in every pod, read live by the engine, with
the drift of each pod from what the top says (docs/networking.md)."""

from multisite.api import errors, v2, wsgi
from multisite.api.policies import routers as policies
from multisite.api.schemas import routers as schemas
from multisite.objects import routings
from multisite.rpc import client as rpc_client


def show_topology(req, router_id):
    ctx, conf = req.environ["multisite.context"], req.environ["multisite.conf"]
    v2.parse_query(req, schemas.TOPOLOGY_QUERY)
    project = v2.item_scope(ctx, rule=policies.TOPOLOGY,
                            all_projects_rule=policies.TOPOLOGY_ALL_PROJECTS)
    found = [r for r in routings.find(conf, top_id=router_id, resource_type="router")
             if project is None or r["project_id"] == project]
    if not found:
        raise errors.not_found("router.not_found",
                               f"Router not found: {router_id} (a top router made through "
                               f"the gateway, or with a router job)")
    topology = rpc_client.get_client().router_topology(
        ctx, router_id, project_id=found[0]["project_id"])
    return wsgi.json_response({"topology": topology})
