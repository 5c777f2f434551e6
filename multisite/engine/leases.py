"""Durable leases: what a controller needs of a kind's stored items (claim ... finish).

`WorkItemLeases` serves any kind from the one work-item table (objects/work_items.py),
the os-sync rows included (sync_manager.SyncRowLeases: the same leases, with the job as
each row's parent and the [sync] options read at each use).
"""

import typing

from multisite.objects import work_items
from multisite.reconcilers import Key


class Leases(typing.Protocol):
    scan_interval: float      # seconds between two claims of the manager's scan
    renew_period: float       # seconds between two renewals of the leases in flight

    def key(self, item) -> Key: ...

    def claim(self, *, limit, parent_id=None) -> list: ...

    def renew(self, items) -> None: ...

    def requeue(self, item, *, delay, error, attempt) -> None: ...

    def finish(self, item, *, ok, error=None) -> None: ...


class WorkItemLeases:
    """Leases of one kind over the work-item table."""

    def __init__(self, conf, *, kind, engine_id, lease, max_attempts=None, scan_interval=5.0,
                 now=None):
        self.conf, self.kind, self.engine_id = conf, kind, engine_id
        self.lease, self.max_attempts = lease, max_attempts
        self.scan_interval = scan_interval
        self.renew_period = lease / 3.0
        self._now = now or (lambda: None)      # None: the database time (tests: virtual)

    def key(self, item):
        return Key(item["kind"], item["key_id"], item["region"])

    def claim(self, *, limit, parent_id=None):
        return work_items.claim(self.conf, kind=self.kind, engine_id=self.engine_id,
                                lease=self.lease, limit=limit,
                                max_attempts=self.max_attempts, parent_id=parent_id,
                                now=self._now())

    def renew(self, items):
        work_items.renew(self.conf, engine_id=self.engine_id,
                         item_ids=[i["id"] for i in items], lease=self.lease, now=self._now())

    def requeue(self, item, *, delay, error, attempt):
        work_items.requeue(self.conf, item_id=item["id"], engine_id=self.engine_id,
                           delay=delay, error=error or None, attempt=attempt, now=self._now())

    def finish(self, item, *, ok, error=None):
        work_items.finish(self.conf, item_id=item["id"], engine_id=self.engine_id, ok=ok,
                          error=error)
