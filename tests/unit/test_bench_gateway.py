"""bench.gateway's measuring helpers: every column of a table sampled in the same rounds."""

from bench import gateway as bench


def test_interleaved_calls_every_column_once_per_round_in_turn():
    order = []
    calls = {name: (lambda n=name: order.append(n)) for name in ("via", "RegionTwo", "at once")}
    got = bench.interleaved(calls, 3)
    assert order == ["via", "RegionTwo", "at once"] * 3
    assert {name: len(ms) for name, ms in got.items()} == {"via": 3, "RegionTwo": 3,
                                                           "at once": 3}
    assert all(ms >= 0 for values in got.values() for ms in values)


class _Resp:
    def __init__(self, header):
        self.headers = {} if header is None else {"Server-Timing": header}


def test_gatewayed_keeps_the_slowest_pod_of_the_server_timing_header(monkeypatch):
    monkeypatch.setattr(bench, "gateway_cpu", lambda proc: 0.0)
    answers = iter([_Resp('pod;desc="RegionTwo";dur=120.5, pod;desc="RegionThree";dur=310.0'),
                    _Resp(None)])
    call = bench.Gatewayed(proc=None, fn=lambda: next(answers))
    call()
    call()
    assert call.pod_ms == [310.0, 0.0] and call.cpu_ms == [0.0, 0.0]
