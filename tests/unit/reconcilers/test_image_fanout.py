"""reconcilers/image_fanout.py: copies of one image running at once share one read of the
source; a slow or failing reader never stalls or fails the others."""

import contextlib
import hashlib
import threading
import time

import pytest

from multisite.clients import session as region_errors
from multisite.reconcilers import image_fanout

DATA = bytes(range(256)) * 40           # 10,240 bytes: 10 chunks of 1,024


class Source:
    """A source image client: counts downloads; `gate` holds the download after each chunk
    until set (a slow source), `fail_after` raises after that many chunks."""

    region = "RegionOne"

    def __init__(self, fail_after=None):
        self.downloads = 0
        self.fail_after = fail_after
        self.gate = threading.Event()
        self.gate.set()

    @contextlib.contextmanager
    def download(self, image_id, *, chunk_size):
        self.downloads += 1

        def chunks():
            for n, i in enumerate(range(0, len(DATA), chunk_size)):
                if self.fail_after is not None and n == self.fail_after:
                    raise region_errors.Unavailable(self.region, "timed out during download")
                self.gate.wait(10)
                yield DATA[i:i + chunk_size]
        yield chunks()


IMAGE = {"id": "i1", "checksum": "c"}


def _read_all(spools, source, out, hold=None):
    with spools.download(source, IMAGE) as chunks:
        parts = []
        for chunk in chunks:
            parts.append(chunk)
            if hold is not None:
                hold.wait(10)
        out.append(b"".join(parts))


def test_readers_at_once_share_one_download_and_each_gets_all_the_data():
    spools, source = image_fanout.Spools(chunk_size=1024), Source()
    source.gate.clear()                               # nobody reads before all joined
    out = []
    threads = [threading.Thread(target=_read_all, args=(spools, source, out))
               for _ in range(3)]
    for t in threads:
        t.start()
    assert _wait(lambda: spools._spools and
                 next(iter(spools._spools.values())).readers == 3)
    source.gate.set()
    for t in threads:
        t.join(10)
    assert out == [DATA] * 3
    assert source.downloads == 1 and spools.started == 1
    assert spools.active() == 0                        # the last reader closed it


def _wait(check, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_a_slow_reader_never_stalls_the_others():
    spools, source = image_fanout.Spools(chunk_size=1024), Source()
    slow_hold, out_slow, out_fast = threading.Event(), [], []
    with spools.download(source, IMAGE) as first:
        next(first)                                     # the spool is live
        slow = threading.Thread(target=_read_all,
                                args=(spools, source, out_slow, slow_hold))
        slow.start()
        assert _wait(lambda: next(iter(spools._spools.values())).readers == 2)
        fast = threading.Thread(target=_read_all, args=(spools, source, out_fast))
        fast.start()
        fast.join(10)
        assert out_fast == [DATA]                       # done while the slow one holds
        assert out_slow == [] and slow.is_alive()
        slow_hold.set()
        slow.join(10)
        assert out_slow == [DATA]
        assert b"".join([DATA[:1024], *first]) == DATA
    assert source.downloads == 1


def test_a_reader_that_fails_leaves_the_others_reading():
    spools, source = image_fanout.Spools(chunk_size=1024), Source()
    source.gate.clear()
    with spools.download(source, IMAGE) as kept:
        with pytest.raises(RuntimeError):
            with spools.download(source, IMAGE) as failing:
                source.gate.set()
                next(failing)
                raise RuntimeError("the target refused the upload")
        assert b"".join(kept) == DATA
    assert source.downloads == 1 and spools.active() == 0


def test_a_failing_download_fails_every_reader_and_the_retry_reads_again():
    spools, source = image_fanout.Spools(chunk_size=1024), Source(fail_after=3)
    for _ in range(2):
        source.gate.clear()                           # both readers join before it fails
        with spools.download(source, IMAGE) as one, spools.download(source, IMAGE) as two:
            source.gate.set()
            with pytest.raises(region_errors.Unavailable):
                b"".join(one)
            with pytest.raises(region_errors.Unavailable):
                b"".join(two)
    assert source.downloads == 2                        # the retry started a new spool
    source.fail_after = None
    with spools.download(source, IMAGE) as chunks:
        assert b"".join(chunks) == DATA
    assert source.downloads == 3 and spools.active() == 0


def test_the_last_reader_leaving_stops_the_download():
    spools, source = image_fanout.Spools(chunk_size=1024), Source()
    source.gate.clear()
    with spools.download(source, IMAGE) as chunks:
        spool = next(iter(spools._spools.values()))
        del chunks
    source.gate.set()
    assert _wait(lambda: spool.done)
    assert spool.written < len(DATA) and spool._file.closed


def test_the_download_hashes_once_and_every_reader_sees_its_checksum():
    """The MD5 is computed by the download as it fills the spool, not by each reader; a
    reader sees it once it has read everything, and a failed download has none."""
    spools, source = image_fanout.Spools(chunk_size=1024), Source()
    source.gate.clear()                                    # the source holds its data
    with spools.download(source, IMAGE) as one, spools.download(source, IMAGE) as two:
        assert one.checksum is None                        # nothing downloaded yet
        source.gate.set()
        assert b"".join(one) == DATA and b"".join(two) == DATA
        assert one.checksum == two.checksum == hashlib.md5(DATA).hexdigest()
    failing = image_fanout.Spools(chunk_size=1024)
    with failing.download(Source(fail_after=3), IMAGE) as broken:
        with pytest.raises(region_errors.Unavailable):
            b"".join(broken)
        assert broken.checksum is None
