"""Polling helper shared by the process and integration tests (no OpenStack imports)."""

import time


def wait_for(check, timeout=30.0, what="condition", *, interval=0.1):
    """Call ``check`` until it returns something truthy and return that; fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)
