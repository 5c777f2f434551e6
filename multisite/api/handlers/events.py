"""/v2/events: the central event feed of every region and of Multisite itself."""

from multisite.api import errors, v2, wsgi
from multisite.api.policies import events as policies
from multisite.api.schemas import events as schemas
from multisite.objects import events


def list_events(req):
    ctx = req.environ["multisite.context"]
    query = v2.parse_query(req, schemas.LIST_QUERY)
    project = v2.project_scope(ctx, query, rule=policies.LIST,
                               all_projects_rule=policies.LIST_ALL_PROJECTS)
    limit, marker = v2.page(req.environ["multisite.conf"], query)
    found, more = events.list_events(
        req.environ["multisite.conf"], project_id=project, region=query.get("region"),
        event_type=query.get("event_type"), resource_id=query.get("resource_id"),
        since=v2.parse_time(query, "since"), until=v2.parse_time(query, "until"),
        limit=limit, marker=v2.int_marker(marker),
        newest_first=query.get("sort_dir", "desc") == "desc")
    next_marker = found[-1]["id"] if more else None
    return wsgi.json_response(v2.collection(
        req, "events", [v2.jsonable(e) for e in found], limit=limit, next_marker=next_marker))


def show(req, event_id):
    ctx = req.environ["multisite.context"]
    v2.parse_query(req, schemas.SHOW_QUERY)
    project = v2.item_scope(ctx, rule=policies.SHOW,
                            all_projects_rule=policies.LIST_ALL_PROJECTS)
    if not event_id.isdigit() or len(event_id) > 19:
        raise errors.not_found("event.not_found", f"Event not found: {event_id}")
    found = events.get(req.environ["multisite.conf"], int(event_id), project_id=project)
    if found is None:
        raise errors.not_found("event.not_found", f"Event not found: {event_id}")
    return wsgi.json_response({"event": v2.jsonable(found)})
