"""clients.inventory.fan_in: region calls yielded as they end, within a deadline that
bounds the waiting only (the address audit writes a region between two items)."""

import threading
import time

from multisite.clients import errors, inventory


def test_items_come_as_the_calls_end_and_a_late_call_is_unreachable():
    release = threading.Event()
    calls = {"Slow": lambda: release.wait(5) and "slow",
             "Fast": lambda: "fast",
             "Down": lambda: (_ for _ in ()).throw(errors.RegionUnavailable("Down", "503")),
             "Bug": lambda: 1 / 0}
    started = time.monotonic()
    got = list(inventory.fan_in(calls, timeout=0.5))
    release.set()
    assert time.monotonic() - started < 3
    by_key = {key: (result, exc) for key, result, exc in got}
    assert by_key["Fast"] == ("fast", None)
    assert [key for key, _r, _e in got][-1] == "Slow"  # the one still running, last
    assert "did not answer within 0.5 s" in str(by_key["Slow"][1])
    assert isinstance(by_key["Down"][1], errors.RegionUnavailable)
    assert "listing failed" in str(by_key["Bug"][1])


def test_time_spent_by_the_consumer_does_not_fail_calls_that_ended_meanwhile():
    second = threading.Event()
    calls = {"One": lambda: "one", "Two": lambda: second.wait(5) and "two"}
    items = inventory.fan_in(calls, timeout=0.3)
    assert next(items)[:2] == ("One", "one")
    second.set()
    time.sleep(0.6)  # the consumer writes One past the deadline; Two ended meanwhile
    assert list(items) == [("Two", "two", None)]


def test_fan_out_keeps_the_calls_order():
    calls = {"B": lambda: time.sleep(0.2) or "b", "A": lambda: "a"}
    results, failures = inventory.fan_out(calls, timeout=5)
    assert list(results) == ["B", "A"] and not failures
