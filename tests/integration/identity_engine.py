"""An engine process running only the identity kinds (`python -m tests.integration.identity_engine
--config-file F`), so that a test can kill -9 it mid-rotation."""

import threading
import uuid

from multisite import cmd
from multisite.engine import identity, manager


def main():
    conf = cmd.prepare(None, description="identity kinds only")
    engine = manager.Manager(conf, engine_id=f"identity-{uuid.uuid4().hex[:8]}")
    for kind in identity.KINDS:
        engine.add(kind)
    engine.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
