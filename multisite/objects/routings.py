"""Resource routings: a top id mapped to its bottom copy in a pod (Tricircle's table).

A gateway create writes the routing first (bottom_id NULL) and completes it with the
pod's id after: an incomplete routing is a create in flight or one interrupted, which a
reconciler adopts or cleans; never an unknown resource in a pod.
"""

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models
from multisite.objects import pods

# Tricircle's resource types, and the Nova/Cinder ones the gateway routes.
RESOURCE_TYPES = (
    "network", "shadow_network", "subnet", "shadow_subnet", "port", "shadow_port", "trunk",
    "port_pair", "port_pair_group", "flow_classifier", "port_chain", "router", "ns_router",
    "security_group", "floatingip", "qos_policy",
    "server", "volume", "snapshot", "backup", "transfer", "keypair", "flavor",
)
# the server metadata key naming the routing of a gateway create (crash recovery finds it)
ROUTING_TAG = "multisite_routing"
FILTERS = ("id", "top_id", "bottom_id", "pod_id", "project_id", "resource_type")

_ROUTING = models.ResourceRouting
_POD = models.Pod


class RoutingNotFound(exception.NotFound):
    code = "routing.not_found"
    message = "Resource routing not found: %(routing_id)s"


class RoutingExists(exception.Conflict):
    code = "routing.exists"
    message = "A routing of %(resource_type)s %(top_id)s to pod %(pod_id)s already exists"


class UnknownPod(exception.Invalid):
    code = "routing.unknown_pod"
    message = "The pod %(pod_id)s doesn't exist"


class InvalidMarker(exception.Invalid):
    code = "request.invalid_marker"
    message = "Marker %(marker)s is an invalid ID"

def _routing(row):
    return {"id": row.id, "top_id": row.top_id, "bottom_id": row.bottom_id,
            "pod_id": row.pod_id, "project_id": row.project_id,
            "resource_type": row.resource_type, "created_at": row.created_at,
            "updated_at": row.updated_at}


def _check_pod(session, pod_id):
    if session.get(_POD, pod_id) is None:
        raise UnknownPod(pod_id=pod_id)


def create(conf, *, top_id, pod_id, project_id, resource_type, bottom_id=None):
    """A routing; `bottom_id` None records a create about to be asked of the pod."""
    try:
        with db_api.session_scope(conf) as session:
            _check_pod(session, pod_id)
            row = _ROUTING(top_id=top_id, bottom_id=bottom_id, pod_id=pod_id,
                           project_id=project_id, resource_type=resource_type,
                           created_at=models.utcnow())
            session.add(row)
            session.flush()
            return _routing(row)
    except sa_exc.IntegrityError:
        raise RoutingExists(resource_type=resource_type, top_id=top_id,
                            pod_id=pod_id) from None


def get(conf, routing_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_ROUTING, routing_id)
        if row is None:
            raise RoutingNotFound(routing_id=routing_id)
        return _routing(row)


def list_routings(conf, *, filters=None, limit=None, marker=None):
    """(routings, more), newest first (id descending, as Tricircle), after id `marker`."""
    query = sa.select(_ROUTING).order_by(_ROUTING.id.desc())
    for name, value in (filters or {}).items():
        query = query.where(getattr(_ROUTING, name) == value)
    with db_api.session_scope(conf) as session:
        if marker is not None:
            if session.get(_ROUTING, marker) is None:
                raise InvalidMarker(marker=marker)
            query = query.where(_ROUTING.id < marker)
        if limit is not None:
            query = query.limit(limit + 1)
        rows = session.scalars(query).all()
        more = limit is not None and len(rows) > limit
        return [_routing(r) for r in rows[:limit]], more


def find(conf, *, top_id, resource_type, project_id=None):
    """The routings of one top resource (one per pod it was copied to)."""
    filters = {"top_id": top_id, "resource_type": resource_type}
    if project_id is not None:
        filters["project_id"] = project_id
    return list_routings(conf, filters=filters)[0]


def find_with_pod(conf, *, top_id, resource_type, project_id=None):
    """(routing, pod) of the newest routing of one top resource, or None: both read in one
    transaction (every routed call of the gateway reads them before the pod is asked)."""
    query = (sa.select(_ROUTING, _POD).join(_POD, _POD.pod_id == _ROUTING.pod_id)
             .where(_ROUTING.top_id == top_id, _ROUTING.resource_type == resource_type)
             .order_by(_ROUTING.id.desc()).limit(1))
    if project_id is not None:
        query = query.where(_ROUTING.project_id == project_id)
    with db_api.session_scope(conf) as session:
        found = session.execute(query).first()
        return None if found is None else (_routing(found[0]), pods.as_dict(found[1]))


def update(conf, routing_id, changes):
    """Change fields of a routing (any of top_id, bottom_id, pod_id, project_id,
    resource_type); a pod that does not exist is a 400."""
    try:
        with db_api.session_scope(conf) as session:
            row = session.get(_ROUTING, routing_id)
            if row is None:
                raise RoutingNotFound(routing_id=routing_id)
            if "pod_id" in changes:
                _check_pod(session, changes["pod_id"])
            for name, value in changes.items():
                setattr(row, name, value)
            row.updated_at = models.utcnow()
            session.flush()
            return _routing(row)
    except sa_exc.IntegrityError:
        raise RoutingExists(resource_type=changes.get("resource_type", "?"),
                            top_id=changes.get("top_id", "?"),
                            pod_id=changes.get("pod_id", "?")) from None


def complete(conf, routing_id, bottom_id):
    """Record the pod's id of a routed create."""
    return update(conf, routing_id, {"bottom_id": bottom_id})


def delete(conf, routing_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_ROUTING, routing_id)
        if row is None:
            raise RoutingNotFound(routing_id=routing_id)
        session.delete(row)


def incomplete(conf, *, pod_id=None, resource_type=None):
    """Routings with no bottom id yet (creates in flight or interrupted), oldest first."""
    return _routings(conf, _ROUTING.bottom_id.is_(None), pod_id, resource_type)


def _routings(conf, condition, pod_id, resource_type):
    query = sa.select(_ROUTING).where(condition).order_by(_ROUTING.id)
    if pod_id is not None:
        query = query.where(_ROUTING.pod_id == pod_id)
    if resource_type is not None:
        query = query.where(_ROUTING.resource_type == resource_type)
    with db_api.session_scope(conf) as session:
        return [_routing(r) for r in session.scalars(query)]


def pods_with_incomplete(conf, resource_type):
    """Names of the pods holding incomplete routings of `resource_type`."""
    with db_api.session_scope(conf) as session:
        return sorted(session.scalars(
            sa.select(_POD.pod_name).join(_ROUTING, _ROUTING.pod_id == _POD.pod_id)
            .where(_ROUTING.bottom_id.is_(None), _ROUTING.resource_type == resource_type)
            .distinct()).all())


def completed(conf, *, pod_id, resource_type):
    """Routings with a bottom id (the item exists in the pod, or did), oldest first."""
    return _routings(conf, _ROUTING.bottom_id.is_not(None), pod_id, resource_type)


def pods_with_routings(conf, resource_type):
    """Names of the pods holding any routing of `resource_type`."""
    with db_api.session_scope(conf) as session:
        return sorted(session.scalars(
            sa.select(_POD.pod_name).join(_ROUTING, _ROUTING.pod_id == _POD.pod_id)
            .where(_ROUTING.resource_type == resource_type).distinct()).all())


def is_routed(conf, top_id, resource_type):
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(sa.func.count()).select_from(_ROUTING).where(
            _ROUTING.top_id == top_id, _ROUTING.resource_type == resource_type)) > 0
