"""SQLAlchemy models of the Multisite database."""

import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, synonym


def utcnow():
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class TimestampMixin:
    # Nullable as migration 0001 created it (a landed migration is never edited).
    created_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime, nullable=True, onupdate=utcnow)


class Quota(TimestampMixin, Base):
    """A project's global limit of one resource."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("project_id", "resource", name="uniq_quotas0project0res"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int] = mapped_column(Integer, nullable=False)


class QuotaClass(TimestampMixin, Base):
    """A quota class's limit of one resource."""

    __tablename__ = "quota_classes"
    __table_args__ = (
        UniqueConstraint("class_name", "resource", name="uniq_quota_classes0class0res"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    class_name: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    resource: Mapped[str] = mapped_column(String(255), nullable=False)
    hard_limit: Mapped[int] = mapped_column(Integer, nullable=False)


class Service(TimestampMixin, Base):
    """A running engine worker and its last liveness report."""

    __tablename__ = "service"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), nullable=False)
    binary: Mapped[str] = mapped_column(String(255), nullable=False)
    topic: Mapped[str] = mapped_column(String(255), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class ProjectSyncStatus(TimestampMixin, Base):
    """Outcome of the last quota rebalance of a project in one region."""

    __tablename__ = "project_sync_status"
    __table_args__ = (
        UniqueConstraint("project_id", "region", name="uniq_project_sync0project0region"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[str] = mapped_column(String(36), nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    last_sync_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    # Added by migration 0002 (quota engine): the region's limits last read or written.
    limits: Mapped[str | None] = mapped_column(Text, nullable=True)


class ProjectSettings(TimestampMixin, Base):
    """Per-project quota engine settings (migration 0002); NULL means the default."""

    __tablename__ = "project_settings"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    quota_policy: Mapped[str | None] = mapped_column(String(36), nullable=True)
    quota_sync: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class SyncJob(TimestampMixin, Base):
    """A resource synchronization job (os-sync)."""

    __tablename__ = "sync_job"

    job_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sync_status: Mapped[str] = mapped_column(String(36), nullable=False, default="IN_PROGRESS")
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    force: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)


class WorkItem(TimestampMixin, Base):
    """A durable work item of the engine: its key, its lease, its attempts (0004)."""

    __tablename__ = "work_items"
    __table_args__ = (Index("ix_work_items_claimable", "kind", "status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(36), nullable=False)
    key_id: Mapped[str] = mapped_column(String(255), nullable=False)
    region: Mapped[str | None] = mapped_column(String(255), nullable=True)
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="WAITING")
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_until: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    not_before: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    # Rows of kind "sync" load as ResourceSync; every other kind as WorkItem.
    __mapper_args__ = {"polymorphic_on": case((kind == "sync", "sync"), else_="item"),
                       "polymorphic_identity": "item"}


class ResourceSync(WorkItem):
    """One (resource, source, target) row of a sync job: a work item of kind "sync" (0016).

    Until migration 0016 these rows had a table of their own (resource_sync); the names
    of its columns stay as synonyms. The resource, its type, source region, force flag,
    target id and the job's user and project are the item's payload (objects/sync_jobs.py
    reads and writes it); the status is the work items' (WAITING, DONE, FAILED), shown as
    Kingbird's IN_PROGRESS, SUCCESS, FAILURE on the wire.
    """

    __mapper_args__ = {"polymorphic_identity": "sync"}

    resource_sync_id = synonym("id")
    job_id = synonym("parent_id")
    target_region = synonym("region")
    sync_status = synonym("status")
    error = synonym("last_error")


class IdentityNode(TimestampMixin, Base):
    """A Keystone node whose key repositories Multisite manages, and what was last seen (0009)."""

    __tablename__ = "identity_nodes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    keystone_url: Mapped[str] = mapped_column(String(255), nullable=False)
    agent_url: Mapped[str] = mapped_column(String(255), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    fernet_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    credential_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checked_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_rotation_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_rotation_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    last_verification: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_verified_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    # the last time its Fernet repository differed from the last rotation's (0015)
    drift_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    drift_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    drift_repaired: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class KeyRotation(TimestampMixin, Base):
    """One Fernet key rotation: its phase, target repositories and per-node progress (0009).

    staged_keys/final_keys hold key material only while the rotation runs; they are
    cleared when it ends. `active` is 1 while it runs (unique: one rotation at a time)."""

    __tablename__ = "identity_key_rotations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    active: Mapped[int | None] = mapped_column(Integer, nullable=True, unique=True)
    reason: Mapped[str] = mapped_column(String(16), nullable=False, default="request")
    # fernet (token keys) or credential (Keystone's credential encryption keys) (0015)
    repository: Mapped[str] = mapped_column(String(16), nullable=False, default="fernet",
                                            server_default="fernet")
    base_node: Mapped[str | None] = mapped_column(String(64), nullable=True)
    staged_keys: Mapped[str | None] = mapped_column(Text, nullable=True)
    final_keys: Mapped[str | None] = mapped_column(Text, nullable=True)
    staged_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    final_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nodes: Mapped[str | None] = mapped_column(Text, nullable=True)
    verification: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
# SQLite only auto-increments an INTEGER PRIMARY KEY; elsewhere the ids are 64-bit.
EVENT_ID = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """One entry of the central event feed (migration 0005): a region's notification or a
    Multisite action. `message_id` is unique, so a redelivered notification is stored once."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("message_id", name="uniq_events0message_id"),
        Index("ix_events_project_id_id", "project_id", "id"),
        Index("ix_events_project_id_generated_at", "project_id", "generated_at"),
        Index("ix_events_region_id", "region", "id"),
        Index("ix_events_event_type_id", "event_type", "id"),
        Index("ix_events_resource_id", "resource_id"),
        Index("ix_events_generated_at", "generated_at"),
    )

    id: Mapped[int] = mapped_column(EVENT_ID, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # "region" (a region's notification bus) or "multisite" (our own actions).
    origin: Mapped[str] = mapped_column(String(16), nullable=False)
    region: Mapped[str | None] = mapped_column(String(255), nullable=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    event_type: Mapped[str] = mapped_column(String(255), nullable=False)
    resource_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    publisher_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    generated_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    received_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    payload: Mapped[str | None] = mapped_column(Text, nullable=True)


class RegionService(Base):
    """The last health probe of one service of one region (migration 0005)."""

    __tablename__ = "region_services"

    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    # identity, compute, volume, network, image; "notifications" for the region's bus.
    service: Mapped[str] = mapped_column(String(32), primary_key=True)
    url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    # NULL until the first probe.
    reachable: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    probed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON {"up": n, "down": n, "disabled": n} of Nova/Cinder services or Neutron agents.
    services: Mapped[str | None] = mapped_column(Text, nullable=True)
    changed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class RegionCapacity(Base):
    """Last known capacity figures of one kind (compute, volume, network, image) of a region."""

    __tablename__ = "region_capacity"

    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    # JSON figures as last read; kept when a later read fails.
    figures: Mapped[str | None] = mapped_column(Text, nullable=True)
    collected_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    error_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class AddressEntry(Base):
    """One address in use in a region (migration 0006): the address index."""

    __tablename__ = "address_index"
    __table_args__ = (
        # (migration 0019) one index answers every lookup: address, CIDR, MAC
        Index("ix_address_index_kind_key", "kind", "addr_key"),
        Index("ix_address_index_region", "region", "project_id"),
        Index("ix_address_index_project", "project_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(100), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    network_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    subnet_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    port_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    device_owner: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    device_id: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    resource_id: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    related: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    # sortable text keys of the first and last address (a MAC: the MAC): range queries
    addr_key: Mapped[str] = mapped_column(String(33), nullable=False, default="")
    addr_end: Mapped[str] = mapped_column(String(33), nullable=False, default="")
    seen_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False, default=utcnow)


class AddressAudit(Base):
    """The last address audit of one region (migration 0006): how fresh its index is."""

    __tablename__ = "address_audit"

    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    audited_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    attempted_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    entries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class AddressConflict(Base):
    """An address held in two regions of one routable domain (migration 0006)."""

    __tablename__ = "address_conflicts"
    __table_args__ = (
        Index("ix_address_conflicts_key", "conflict_key", "cleared_at"),
        Index("ix_address_conflicts_seen", "first_seen"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    conflict_key: Mapped[str] = mapped_column(String(400), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    address: Mapped[str] = mapped_column(String(100), nullable=False)
    regions: Mapped[str] = mapped_column(Text, nullable=False)    # ",R1,R2,"
    projects: Mapped[str] = mapped_column(Text, nullable=False)   # ",p1,p2,"
    sides: Mapped[str] = mapped_column(Text, nullable=False)      # JSON list
    first_seen: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    cleared_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
class SyncPolicy(Base):
    """A continuous sync: resources of one type kept converged from a source (0008)."""

    __tablename__ = "sync_policies"
    __table_args__ = (Index("ix_sync_policies_project_id", "project_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # the owner of keypair policies' keypairs (NULL for project resources without a user)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resource_type: Mapped[str] = mapped_column(String(32), nullable=False)
    # JSON list of names/ids; NULL: every resource of the type in the source.
    resources: Mapped[str | None] = mapped_column(Text, nullable=True)
    source_region: Mapped[str] = mapped_column(String(255), nullable=False)
    # JSON list of regions; NULL: every region but the source, ones added later included.
    targets: Mapped[str | None] = mapped_column(Text, nullable=True)
    on_drift: Mapped[str] = mapped_column(String(16), nullable=False)
    propagate_deletes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    force: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class SyncPolicyTarget(Base):
    """The last audit of one policy in one target region (0008)."""

    __tablename__ = "sync_policy_targets"

    policy_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sync_policies.id", ondelete="CASCADE"), primary_key=True)
    region: Mapped[str] = mapped_column(String(255), primary_key=True)
    # in_sync | missing | drifted | conflict | failed
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    # JSON [{"resource", "state", "detail"}] of the resources not in sync.
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON list of resource names this policy created or adopted in the region.
    managed: Mapped[str | None] = mapped_column(Text, nullable=True)
    audited_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    repaired_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class ImageDistribution(Base):
    """How a project's images (or one image) are distributed to other regions (0011)."""

    __tablename__ = "image_distributions"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # "default": the project default; else the id of the image it overrides
    image_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)   # none|auto|lazy|controlled
    source_region: Mapped[str] = mapped_column(String(255), nullable=False)
    # JSON list of regions; NULL: every region but the source
    targets: Mapped[str | None] = mapped_column(Text, nullable=True)
    propagate_deletes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class ImageCopy(Base):
    """One image in one target region: the durable record of its copy (0011).

    Unique per (image, region): however many callers ask, there is one copy.
    """

    __tablename__ = "image_copies"
    __table_args__ = (
        UniqueConstraint("image_id", "region", name="uniq_image_copies0image0region"),
        Index("ix_image_copies_project_id", "project_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    image_id: Mapped[str] = mapped_column(String(64), nullable=False)
    source_region: Mapped[str] = mapped_column(String(255), nullable=False)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    origin: Mapped[str] = mapped_column(String(16), nullable=False)   # auto|lazy|rollout
    hidden: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)  # pending|copying|active|failed
    target_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    checksum: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class ImageRollout(Base):
    """A controlled rollout of an image in waves of regions (0011)."""

    __tablename__ = "image_rollouts"
    __table_args__ = (Index("ix_image_rollouts_project_id", "project_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    image_id: Mapped[str] = mapped_column(String(64), nullable=False)
    source_region: Mapped[str] = mapped_column(String(255), nullable=False)
    waves: Mapped[str] = mapped_column(Text, nullable=False)            # JSON [[region]]
    pause: Mapped[float | None] = mapped_column(Float, nullable=True)
    manual_promote: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # running|waiting|rolling_back|succeeded|rolled_back
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    wave: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # JSON {region: {"state", "previous": [ids], "reason"}}
    regions: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    paused_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_wave_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


ROUTING_ID = BigInteger().with_variant(Integer, "sqlite")


class Pod(Base):
    """A region of the big region: the top (no AZ, at most one) or a bottom pod (0012)."""

    __tablename__ = "pods"

    pod_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # the Keystone region name (Tricircle 2.0.1 `pod_name`, later `region_name`)
    pod_name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    pod_az_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    dc_name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    # the AZ users see; "" for the top region
    az_name: Mapped[str] = mapped_column(String(255), nullable=False, default="", index=True)
    # True for the top region, NULL for pods: a unique column allows one top only,
    # on every backend (NULLs are distinct), without a read-then-write race.
    is_top: Mapped[bool | None] = mapped_column(Boolean, nullable=True, unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)


class ResourceRouting(Base):
    """A top resource id mapped to its bottom copy in a pod (0012).

    Written before the pod is asked to create (bottom_id NULL), completed after: a
    routing with no bottom id is a create in flight or interrupted.
    """

    __tablename__ = "resource_routings"
    __table_args__ = (
        UniqueConstraint("top_id", "pod_id", "resource_type",
                         name="uniq_resource_routings0top0pod0type"),
        Index("ix_resource_routings_project", "project_id", "resource_type"),
    )

    id: Mapped[int] = mapped_column(ROUTING_ID, primary_key=True, autoincrement=True)
    top_id: Mapped[str] = mapped_column(String(127), nullable=False)
    bottom_id: Mapped[str | None] = mapped_column(String(127), nullable=True, index=True)
    pod_id: Mapped[str] = mapped_column(String(36), ForeignKey("pods.pod_id"), nullable=False,
                                        index=True)
    project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resource_type: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class PodBinding(Base):
    """A project bound to one pod of an AZ: its later resources there go to it (0012)."""

    __tablename__ = "pod_bindings"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    az_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    pod_id: Mapped[str] = mapped_column(String(36), ForeignKey("pods.pod_id"), nullable=False,
                                        index=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)


class AsyncJob(Base):
    """Asynchronous work of the big region (Tricircle's jobs): NEW, RUNNING, SUCCESS, FAIL."""

    __tablename__ = "async_jobs"
    __table_args__ = (Index("ix_async_jobs_project", "project_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    type: Mapped[str] = mapped_column(String(36), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # "#"-joined ids of the job's resource fields, in the type's order (Tricircle's key)
    resource_id: Mapped[str] = mapped_column(String(255), nullable=False)
    timestamp: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                         default=utcnow, index=True)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    # why the last run failed (FAIL), None otherwise (0024)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class BridgeSegment(Base):
    """A tenant's bridge network segmentation id, the same in every pod (0024)."""

    __tablename__ = "net_bridge_segments"

    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    segmentation_id: Mapped[int] = mapped_column(Integer, nullable=False, unique=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)


class BridgePort(Base):
    """The bridge IP of a top router's bottom router in one pod (0024)."""

    __tablename__ = "net_bridge_ports"
    __table_args__ = (
        UniqueConstraint("router_id", "pod_name", name="uq_net_bridge_ports_router_pod"),
        UniqueConstraint("project_id", "ip_address", name="uq_net_bridge_ports_ip"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    router_id: Mapped[str] = mapped_column(String(36), nullable=False)
    pod_name: Mapped[str] = mapped_column(String(255), nullable=False)
    ip_address: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)


class ProtectionPlan(Base):
    """A VNF protected for disaster recovery: ordered server groups in a source region,
    what they need (discovered by the engine) and the backup region (0013)."""

    __tablename__ = "dr_protection_plans"
    __table_args__ = (Index("ix_dr_protection_plans_project_id", "project_id", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    source_region: Mapped[str] = mapped_column(String(255), nullable=False)
    backup_region: Mapped[str] = mapped_column(String(255), nullable=False)
    # JSON list of lists of server names/ids: the quiesce (pause) order
    groups: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    retention: Mapped[int] = mapped_column(Integer, nullable=False)
    # seconds between scheduled checkpoints; NULL: on request only
    schedule_interval: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # discovering | ready | invalid
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    # JSON: what discovery found (servers, volumes, ports, networks, ...)
    resources: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON list of {"resource", "reason"}: what cannot be protected and why
    problems: Mapped[str | None] = mapped_column(Text, nullable=True)
    discovered_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class Checkpoint(Base):
    """One consistent copy of a protection plan's volumes, kept in the backup region (0013)."""

    __tablename__ = "dr_checkpoints"
    __table_args__ = (Index("ix_dr_checkpoints_plan_id", "plan_id", "created_at"),
                      Index("ix_dr_checkpoints_project_id", "project_id", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(36), nullable=False)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    # pending | running | completed | failed | deleting
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    # the previous completed checkpoint whose backups are the incremental parents
    parent_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    # 1 while it runs, NULL after: one checkpoint of a plan at a time
    active_plan_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    # JSON: per-server and per-volume status, ids, timings
    resources: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON: the quiesce window (opened_at, closed_at, seconds, slowest snapshot)
    quiesce_window: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class Restore(Base):
    """A checkpoint restored in a region: a drill or a failover, in phases (0023)."""

    __tablename__ = "dr_restores"
    __table_args__ = (Index("ix_dr_restores_project_id", "project_id", "id"),
                      Index("ix_dr_restores_checkpoint_id", "checkpoint_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    checkpoint_id: Mapped[str] = mapped_column(String(36), nullable=False)
    plan_id: Mapped[str] = mapped_column(String(36), nullable=False)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    # the project the restore creates its resources in when not the plan's (a drill into
    # another project, 0025); NULL: the plan's project
    target_project_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    # drill | failover
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    # pending | running | completed | failed
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    phase: Mapped[str] = mapped_column(String(16), nullable=False)
    # "<plan id>/<region>/<mode>" while it runs, NULL after: one at a time per target
    active_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    # JSON: per-resource report (volumes, keypairs, flavors, networks, ports, servers)
    resources: Mapped[str | None] = mapped_column(Text, nullable=True)
    # seconds from the request to the last server ACTIVE with its volumes attached
    rto_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime, nullable=True)


class RestoreToken(Base):
    """A failover's confirmation token, returned by a first unconfirmed call (0023)."""

    __tablename__ = "dr_restore_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    checkpoint_id: Mapped[str] = mapped_column(String(36), nullable=False)
    region: Mapped[str] = mapped_column(String(255), nullable=False)
    project_id: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, nullable=False,
                                                          default=utcnow)
