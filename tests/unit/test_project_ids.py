"""The one project-id rule (multisite/project_ids.py), used by /v2, v1.0 URLs and tokens."""

import pytest

from multisite import project_ids
from multisite.api import errors, v2
from multisite.api.handlers import common

HEX = "0123456789abcdef0123456789abcdef"
DASHED = "01234567-89ab-cdef-0123-456789abcdef"
SPELLINGS = [HEX, HEX.upper(), DASHED, "{" + DASHED + "}", "urn:uuid:" + DASHED,
             "{" + HEX.upper() + "}"]
NOT_IDS = ["", "admin", HEX[:-1], HEX + "0", "g" * 32, "x" * 46, None, 42]


@pytest.mark.parametrize("value", SPELLINGS)
def test_every_spelling_is_one_project_on_every_path(value):
    assert project_ids.normalize(value) == HEX
    assert project_ids.fold(value) == HEX
    assert common.project_id(value) == HEX              # v1.0 URL variables
    assert v2.normalize_project_id(value) == HEX        # /v2 parameters
    assert common.same_project_spelling(value) == HEX   # token identities


@pytest.mark.parametrize("value", NOT_IDS)
def test_anything_else_is_refused_or_kept_as_given(value):
    with pytest.raises(project_ids.InvalidProjectId):
        project_ids.normalize(value)
    assert project_ids.fold(value) == value
    with pytest.raises(errors.HTTPError) as v10:
        common.project_id(value)
    with pytest.raises(errors.HTTPError) as v2_error:
        v2.normalize_project_id(value)
    assert (v10.value.status, v10.value.code) == (400, "request.invalid_url")
    assert (v2_error.value.status, v2_error.value.code) == (400, "request.invalid_project_id")
