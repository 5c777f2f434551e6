"""Pods of the big region (Tricircle's model): the top region and the bottom pods with
their availability zones, and the binding of a project to one pod per AZ."""

import uuid

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models

_POD = models.Pod
_ROUTING = models.ResourceRouting
_BINDING = models.PodBinding


class PodNotFound(exception.NotFound):
    code = "pod.not_found"
    message = "Pod not found: %(pod_id)s"


class PodExists(exception.Conflict):
    code = "pod.exists"
    message = "A pod for region %(name)s already exists"


class TopRegionExists(exception.Conflict):
    code = "pod.top_region_exists"
    message = "Top region already exists: %(name)s"


class TopRegionIsNotAPod(exception.Conflict):
    code = "pod.top_region_name"
    message = "Pod region name duplicated with the top region name: %(name)s"


class PodInUse(exception.Conflict):
    code = "pod.in_use"
    message = "Pod %(pod_id)s has %(count)d routed resources; delete them first"


class NoPodInZone(exception.NotFound):
    code = "pod.no_pod_in_az"
    message = "No pod serves availability zone %(az_name)s"


def _pod(row):
    # Both spellings of the name: Tricircle 2.0.1 said pod_name, later releases region_name.
    return {"pod_id": row.pod_id, "pod_name": row.pod_name, "region_name": row.pod_name,
            "pod_az_name": row.pod_az_name, "dc_name": row.dc_name, "az_name": row.az_name}


def as_dict(row):
    """A pod row as the pods API and the gateway see it (for queries joining pods)."""
    return _pod(row)


def create(conf, *, name, az_name="", pod_az_name="", dc_name=""):
    """Register a pod; no `az_name` makes it the top region (at most one)."""
    top = az_name == ""
    row = _POD(pod_id=str(uuid.uuid4()), pod_name=name, az_name=az_name,
               pod_az_name="" if top else pod_az_name, dc_name=dc_name,
               is_top=True if top else None, created_at=models.utcnow())
    existing_top = top_region(conf)
    if existing_top is not None:
        if top:
            raise TopRegionExists(name=existing_top["pod_name"])
        if existing_top["pod_name"] == name:
            raise TopRegionIsNotAPod(name=name)
    try:
        with db_api.session_scope(conf) as session:
            session.add(row)
            session.flush()
            return _pod(row)
    except sa_exc.IntegrityError:
        # a concurrent request won: the unique name or the one-top rule
        again = top_region(conf)
        if top and again is not None and again["pod_name"] != name:
            raise TopRegionExists(name=again["pod_name"]) from None
        raise PodExists(name=name) from None


def get(conf, pod_id):
    with db_api.session_scope(conf) as session:
        row = session.get(_POD, pod_id)
        if row is None:
            raise PodNotFound(pod_id=pod_id)
        return _pod(row)


def list_pods(conf, *, az_name=None):
    """Every pod, top region first, then by name."""
    with db_api.session_scope(conf) as session:
        query = sa.select(_POD).order_by(_POD.az_name, _POD.pod_name)
        if az_name is not None:
            query = query.where(_POD.az_name == az_name)
        return [_pod(r) for r in session.scalars(query)]


def top_region(conf):
    with db_api.session_scope(conf) as session:
        row = session.scalars(sa.select(_POD).where(_POD.is_top.is_(True))).first()
        return _pod(row) if row is not None else None


def availability_zones(conf):
    """{az_name: [pod, ...]} of the bottom pods."""
    zones = {}
    for pod in list_pods(conf):
        if pod["az_name"]:
            zones.setdefault(pod["az_name"], []).append(pod)
    return zones


def delete(conf, pod_id):
    """Delete a pod; refused (409) while a routing points at it. Its bindings go with it."""
    with db_api.session_scope(conf) as session:
        row = session.get(_POD, pod_id)
        if row is None:
            raise PodNotFound(pod_id=pod_id)
        routed = session.scalar(sa.select(sa.func.count()).select_from(_ROUTING)
                                .where(_ROUTING.pod_id == pod_id))
        if routed:
            raise PodInUse(pod_id=pod_id, count=routed)
        session.execute(sa.delete(_BINDING).where(_BINDING.pod_id == pod_id))
        session.delete(row)


def binding(conf, *, project_id, az_name):
    """The pod a project is bound to in an AZ, or None."""
    with db_api.session_scope(conf) as session:
        row = session.get(_BINDING, (project_id, az_name))
        return _pod(session.get(_POD, row.pod_id)) if row is not None else None


@db_api.retry_on_conflict(integrity=True)
def bind(conf, *, project_id, az_name):
    """The project's pod in `az_name`: its binding, else the least-bound pod of the AZ
    (fewest projects; ties by name), bound now so that its later resources follow it."""
    with db_api.session_scope(conf) as session:
        row = session.get(_BINDING, (project_id, az_name))
        if row is not None:
            return _pod(session.get(_POD, row.pod_id))
        load = (sa.select(_BINDING.pod_id, sa.func.count().label("n"))
                .group_by(_BINDING.pod_id).subquery())
        chosen = session.execute(
            sa.select(_POD).outerjoin(load, load.c.pod_id == _POD.pod_id)
            .where(_POD.az_name == az_name)
            .order_by(sa.func.coalesce(load.c.n, 0), _POD.pod_name).limit(1)).scalar()
        if chosen is None:
            raise NoPodInZone(az_name=az_name)
        session.add(_BINDING(project_id=project_id, az_name=az_name, pod_id=chosen.pod_id,
                             created_at=models.utcnow()))
        return _pod(chosen)


def pods_of(conf, project_id, resource_type):
    """The pods a project's lists read, by name, in one query: those it is bound to, and
    those holding its routings of `resource_type` (a volume a transfer gave it may be in a
    pod of another binding)."""
    wanted = sa.union(
        sa.select(_BINDING.pod_id).where(_BINDING.project_id == project_id),
        sa.select(_ROUTING.pod_id).where(_ROUTING.project_id == project_id,
                                         _ROUTING.resource_type == resource_type))
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_POD).where(_POD.pod_id.in_(wanted))
                               .order_by(_POD.pod_name)).all()
        return [_pod(r) for r in rows]


def bindings_of(conf, project_id):
    """Every pod a project is bound to (its pods for listings), by name."""
    with db_api.session_scope(conf) as session:
        rows = session.scalars(sa.select(_POD).join(_BINDING, _BINDING.pod_id == _POD.pod_id)
                               .where(_BINDING.project_id == project_id)
                               .order_by(_POD.pod_name)).all()
        return [_pod(r) for r in rows]
