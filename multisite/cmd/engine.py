"""multisite-engine: quota rebalancing and resource sync workers."""

import logging
import multiprocessing
import os
import signal
import threading

from multisite import cmd
from multisite.db import api as db_api
from multisite.engine import service

LOG = logging.getLogger(__name__)


def _watch_parent(parent, stop, period=1.0):
    """A worker whose parent died (kill -9) stops instead of running on as an orphan,
    so that `workers = N` dies as one engine would (its locks and ring places freed)."""
    while not stop.wait(period):
        if os.getppid() != parent:
            LOG.warning("Engine parent %d is gone; stopping this worker", parent)
            stop.set()


def _run_worker(conf, parent=None, worker=0):
    db_api.dispose_all()
    engine = service.EngineService(conf, worker=worker)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if parent is not None:
        threading.Thread(target=_watch_parent, args=(parent, stop), daemon=True,
                         name="engine-parent-watch").start()
    engine.start()
    stop.wait()
    engine.stop()


def main(argv=None):
    conf = cmd.prepare(argv, description="Multisite engine.")
    db_api.wait_for_database(conf)
    if conf.workers == 1:
        _run_worker(conf)
        return
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_run_worker, args=(conf, os.getpid(), i),
                            name=f"engine-{i}")
                for i in range(conf.workers)]
    for child in children:
        child.start()

    def _forward(signum, _frame):
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGTERM, _forward)
    signal.signal(signal.SIGINT, _forward)
    for child in children:
        child.join()


if __name__ == "__main__":
    main()
