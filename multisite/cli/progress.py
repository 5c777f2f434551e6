"""Follow long work until it ends: a sync job (progress per target region), or a DR
checkpoint or restore (a line per resource whose status changes)."""

import time

from multisite.client import sync_jobs


def summarize(rows):
    """{target region: {"total", "done", "failed"}} from a job's rows (pure)."""
    regions = {}
    for row in rows:
        entry = regions.setdefault(row.get("target_region") or "?",
                                   {"total": 0, "done": 0, "failed": 0})
        entry["total"] += 1
        status = row.get("sync_status")
        if status in sync_jobs.FINISHED:
            entry["done"] += 1
        if status == "FAILURE":
            entry["failed"] += 1
    return regions


def finished(rows):
    return bool(rows) and all(row.get("sync_status") in sync_jobs.FINISHED for row in rows)


def progress_line(region, entry, elapsed):
    ok = entry["done"] - entry["failed"]
    state = "done" if entry["done"] == entry["total"] else "running"
    return (f"[{elapsed:6.1f}s] {region}: {entry['done']}/{entry['total']} finished "
            f"({ok} SUCCESS, {entry['failed']} FAILURE) {state}")


def wait(manager, job_id, *, out, interval=1.0, timeout=600.0,
         clock=time.monotonic, sleep=time.sleep):
    """The job's final rows; writes a line to ``out`` whenever a region's progress changes."""
    started = clock()
    shown = {}
    while True:
        rows = manager.get(job_id)
        elapsed = clock() - started
        for region, entry in sorted(summarize(rows).items()):
            if shown.get(region) != entry:
                shown[region] = entry
                out.write(progress_line(region, entry, elapsed) + "\n")
                out.flush()
        if finished(rows):
            return rows
        if elapsed >= timeout:
            raise TimeoutError(f"Job {job_id} still running after {timeout:.0f}s; "
                               f"follow it with: multisite sync show {job_id}")
        sleep(interval)


def follow_resources(get, rows, *, out, timeout, what, interval=1.0, clock=time.monotonic,
                     sleep=time.sleep, finished=("completed", "failed")):
    """Poll `get()` until its status is in `finished`; a line to `out` whenever a resource
    of `rows(item)` ((kind, name, status, detail) tuples) changes status."""
    started, shown = clock(), {}
    while True:
        item = get()
        for row in rows(item):
            key = row[:2]
            if shown.get(key) != row[2]:
                shown[key] = row[2]
                out.write(f"[{clock() - started:6.1f}s] {item['phase']}: {row[0]} {row[1]} "
                          f"{row[2]}\n")
        if item["status"] in finished:
            return item
        if clock() - started > timeout:
            raise TimeoutError(f"{what} still {item['status']} after {timeout:.0f} s")
        sleep(interval)
