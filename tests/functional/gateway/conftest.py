"""Each test starts with a gateway that has read no image yet: the trust in an image read
active in a pod (gateway/images.py, [gateway] image_check_ttl) is per process."""

import pytest

from multisite.gateway import images


@pytest.fixture(autouse=True)
def no_image_read_yet():
    images._CHECKED.clear()
    yield
    images._CHECKED.clear()
