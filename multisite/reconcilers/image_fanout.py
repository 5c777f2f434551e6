"""Fan-out of image copies: the source is read once for every copy of it running at once.

Copies of one image to N regions are N work items, each with its own worker, lease and
retries. Each reads the source data through `Spools.download`, which has the same shape as
the image client's `download`. The first copy starts **one** download into a spool file (an
anonymous temporary file: it leaves nothing behind, even after kill -9). Every copy of the
same image that starts while that spool has readers joins it and reads from the file at
its own pace.

- **Memory.** The download and each reader hold one chunk at a time. The data goes to
  disk, at most the image's size per spool.
- **A slow target** reads behind. The download writes to the file at the source's pace and
  never waits for a reader, so a slow target never stalls the others.
- **A failing target** drops its reader and fails or retries on its own; the others go
  on. When the last reader leaves, the download stops and the file is closed.
- **A failing download** (the source unreachable) raises its error in every reader that
  has not yet read everything. Each copy retries through the kind's backoff, and a retry
  starts a new spool.

The download hashes the data once as it fills the spool (in its own thread); each copy
checks that MD5 against the source's checksum when it has read everything, and the
target's record (its own MD5 and `os_hash_value`) is verified after the upload. Hashing
once per read instead of once per copy is what keeps N targets near the cost of one.
Durable rows and resumption are unchanged: a spool is only a cache of one read.
"""

import contextlib
import hashlib
import logging
import os
import tempfile
import threading

LOG = logging.getLogger(__name__)
CHUNK_SIZE = 1024 * 1024


class Spool:
    """One download of one source image into a temporary file, read by any number of
    followers."""

    def __init__(self, key, opener, *, directory=None, chunk_size=CHUNK_SIZE):
        self.key = key
        self.chunk_size = chunk_size
        self._file = tempfile.TemporaryFile(prefix="multisite-image-", dir=directory or None)
        self._fd = self._file.fileno()
        self._cond = threading.Condition()
        self.written = 0
        self.done = False
        self.error = None
        self.readers = 0
        self.checksum = None              # MD5 of the data, once the whole download is in
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._abandoned = False
        self._thread = threading.Thread(target=self._fill, args=(opener,), daemon=True,
                                        name=f"image-spool-{key[1][:8]}")

    def start(self):
        self._thread.start()

    def _fill(self, opener):
        try:
            with opener() as chunks:
                for chunk in chunks:
                    if self._abandoned:
                        return
                    os.pwrite(self._fd, chunk, self.written)
                    self._md5.update(chunk)
                    with self._cond:
                        self.written += len(chunk)
                        self._cond.notify_all()
            with self._cond:
                self.checksum = self._md5.hexdigest()
        except BaseException as exc:  # noqa: BLE001 -- handed to every reader
            with self._cond:
                self.error = exc
        finally:
            with self._cond:
                self.done = True
                self._cond.notify_all()
            if self._abandoned:
                self._close()

    def chunks(self):
        """The image data from the first byte, in chunks, following the download."""
        position = 0
        while True:
            with self._cond:
                self._cond.wait_for(lambda at=position: self.written > at or self.done)
                available, done, error = self.written, self.done, self.error
            if available > position:
                data = os.pread(self._fd, min(self.chunk_size, available - position), position)
                position += len(data)
                yield data
            elif error is not None:
                raise error
            elif done:
                return

    def abandon(self):
        """The last reader left: stop the download; the file is closed once it stopped."""
        with self._cond:
            self._abandoned = True
            finished = self.done
        if finished:
            self._close()

    def _close(self):
        with contextlib.suppress(OSError):
            self._file.close()


class Reader:
    """One copy's view of a spool: an iterator over the data from the first byte; once it
    has all been read, `checksum` is its MD5 (computed once by the download)."""

    def __init__(self, spool):
        self._spool = spool
        self._chunks = spool.chunks()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._chunks)

    @property
    def checksum(self):
        return self._spool.checksum


class Spools:
    """The spools of one engine, by (source region, image id, checksum)."""

    def __init__(self, *, directory=None, chunk_size=CHUNK_SIZE):
        self.directory = directory
        self.chunk_size = chunk_size
        self._lock = threading.Lock()
        self._spools = {}
        self.started = 0                  # downloads started (tests, benchmark)

    def active(self):
        with self._lock:
            return len(self._spools)

    @contextlib.contextmanager
    def download(self, client, image):
        """Like `client.download(image["id"])`, shared with the copies of the same image
        running at once."""
        key = (client.region, image["id"], image.get("checksum") or "")
        with self._lock:
            spool = self._spools.get(key)
            if spool is None or (spool.done and spool.error is not None):
                spool = self._spools[key] = Spool(
                    key, lambda: client.download(image["id"], chunk_size=self.chunk_size),
                    directory=self.directory, chunk_size=self.chunk_size)
                self.started += 1
                spool.start()
                LOG.info("Image source read started: region=%s image=%s", key[0], key[1])
            spool.readers += 1
        try:
            yield Reader(spool)
        finally:
            with self._lock:
                spool.readers -= 1
                last = spool.readers == 0
                if last and self._spools.get(key) is spool:
                    del self._spools[key]
            if last:
                spool.abandon()
