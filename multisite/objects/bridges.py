"""The tenants' bridge networks (issue 17): one segmentation id per tenant, the same in
every pod, allocated from `[network] bridge_vlan_ranges` and never given to two tenants
(a unique column: two engines racing for one id, one wins, the other takes the next);
and one bridge IP of `[network] bridge_cidr` per (top router, pod), unique in the tenant."""

import ipaddress

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from multisite import exception
from multisite.db import api as db_api
from multisite.db import models

_SEG = models.BridgeSegment
_PORT = models.BridgePort


class NoSegmentLeft(exception.Conflict):
    code = "network.no_bridge_segment"
    message = "No bridge segmentation id is free in [network] bridge_vlan_ranges %(ranges)s"


class NoBridgeAddressLeft(exception.Conflict):
    code = "network.no_bridge_address"
    message = "No address is free in the bridge CIDR %(cidr)s of project %(project_id)s"


def parse_ranges(ranges):
    """["2000:2999", ...] -> [(2000, 2999), ...]; a ValueError naming a bad one."""
    parsed = []
    for text in ranges:
        first, sep, last = str(text).partition(":")
        if not sep or not first.strip().isdigit() or not last.strip().isdigit() or \
                int(first) > int(last) or not 1 <= int(first) <= 4094 or int(last) > 4094:
            raise ValueError(f"invalid bridge VLAN range {text!r}: first:last within 1:4094")
        parsed.append((int(first), int(last)))
    return parsed


def segment(conf, project_id):
    """The project's segmentation id, allocated now if it has none."""
    ranges = parse_ranges(conf.network.bridge_vlan_ranges)
    for _ in range(20):
        with db_api.session_scope(conf) as session:
            row = session.get(_SEG, project_id)
            if row is not None:
                return row.segmentation_id
            taken = set(session.scalars(sa.select(_SEG.segmentation_id)))
        free = next((v for first, last in ranges for v in range(first, last + 1)
                     if v not in taken), None)
        if free is None:
            raise NoSegmentLeft(ranges=",".join(conf.network.bridge_vlan_ranges))
        try:
            with db_api.session_scope(conf) as session:
                session.add(_SEG(project_id=project_id, segmentation_id=free,
                                 created_at=models.utcnow()))
            return free
        except sa_exc.IntegrityError:
            continue    # another engine took it (or gave this project one): look again
    raise NoSegmentLeft(ranges=",".join(conf.network.bridge_vlan_ranges))


def holder(conf, segmentation_id):
    """The project whose bridge network has `segmentation_id`, else None."""
    with db_api.session_scope(conf) as session:
        return session.scalar(sa.select(_SEG.project_id).where(
            _SEG.segmentation_id == segmentation_id))


def reserved(conf, segmentation_id):
    """Whether `segmentation_id` is in `[network] bridge_vlan_ranges` (kept for bridges)."""
    return any(first <= segmentation_id <= last
               for first, last in parse_ranges(conf.network.bridge_vlan_ranges))


def address(conf, project_id, router_id, pod_name):
    """The bridge IP of (router, pod), allocated now (lowest free host) if it has none."""
    network = ipaddress.ip_network(conf.network.bridge_cidr)
    for _ in range(20):
        with db_api.session_scope(conf) as session:
            row = session.scalar(sa.select(_PORT).where(_PORT.router_id == router_id,
                                                        _PORT.pod_name == pod_name))
            if row is not None:
                return row.ip_address
            taken = set(session.scalars(sa.select(_PORT.ip_address).where(
                _PORT.project_id == project_id)))
        free = next((str(ip) for ip in network.hosts() if str(ip) not in taken), None)
        if free is None:
            raise NoBridgeAddressLeft(cidr=str(network), project_id=project_id)
        try:
            with db_api.session_scope(conf) as session:
                session.add(_PORT(project_id=project_id, router_id=router_id,
                                  pod_name=pod_name, ip_address=free,
                                  created_at=models.utcnow()))
            return free
        except sa_exc.IntegrityError:
            continue
    raise NoBridgeAddressLeft(cidr=str(network), project_id=project_id)


def addresses(conf, router_id):
    """pod name -> bridge IP of the router's bottom routers."""
    with db_api.session_scope(conf) as session:
        return {r.pod_name: r.ip_address for r in session.scalars(
            sa.select(_PORT).where(_PORT.router_id == router_id))}


def release(conf, router_id, pod_name):
    """Forget the bridge IP of (router, pod) (its bottom router is gone)."""
    with db_api.session_scope(conf) as session:
        session.execute(sa.delete(_PORT).where(_PORT.router_id == router_id,
                                               _PORT.pod_name == pod_name))


def pod_routers(conf, project_id, pod_name):
    """Top routers of the project holding a bridge IP in the pod."""
    with db_api.session_scope(conf) as session:
        return sorted(session.scalars(sa.select(_PORT.router_id).where(
            _PORT.project_id == project_id, _PORT.pod_name == pod_name)))
