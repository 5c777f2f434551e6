"""engine/images.py: one ImageEnv per engine, and none kept once the engine is gone."""

import gc
import uuid

from multisite.engine import images, manager


def test_one_env_per_engine_shared_by_the_three_kinds_and_dropped_with_it(conf):
    engine_id = str(uuid.uuid4())
    engine = manager.Manager(conf, engine_id=engine_id)
    for kind in images.KINDS:
        engine.add(kind)
    shared = {id(ctl.shared) for ctl in engine.controllers.values()}
    assert len(shared) == 1
    assert images.env(conf, engine_id) is engine.controllers["image_copy"].shared
    assert engine_id in images._ENVS
    del engine, shared
    gc.collect()
    assert engine_id not in images._ENVS
