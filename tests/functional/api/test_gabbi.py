"""Runs the declarative HTTP stories in gabbits/ against the in-process app.

Each YAML file is one story, run on a fresh SQLite database with the engine in
this process (the `wsgi_app` fixture). Every response of every story also passes
through `ContractCheck`, which enforces what spec section 2.1 asks of all of them:
an `x-openstack-request-id` header, a JSON body, and errors shaped as
`{"error": {"code", "message"}}`.
"""

import json
import os
import unittest

import pytest
from gabbi import driver

from tests.functional.api import fixtures

GABBITS = os.path.join(os.path.dirname(__file__), "gabbits")
STORIES = sorted(name[:-5] for name in os.listdir(GABBITS) if name.endswith(".yaml"))


class ContractCheck:
    """WSGI wrapper that records every response breaking the common contract."""

    def __init__(self, app):
        self.app = app
        self.violations = []

    def __call__(self, environ, start_response):
        seen = {}

        def recording_start_response(status, headers, exc_info=None):
            seen["status"] = int(status.split()[0])
            seen["headers"] = {name.lower(): value for name, value in headers}
            return start_response(status, headers, exc_info)

        body = b"".join(self.app(environ, recording_start_response))
        where = f"{environ['REQUEST_METHOD']} {environ.get('PATH_INFO')}"
        self.violations.extend(f"{where}: {problem}" for problem in problems(
            environ["REQUEST_METHOD"], seen["status"], seen["headers"], body))
        return [body]


def problems(method, status, headers, body):
    """What is wrong with one response, by the rules every response must follow."""
    found = []
    if not headers.get("x-openstack-request-id", "").startswith("req-"):
        found.append("no x-openstack-request-id header")
    if status >= 500:
        found.append(f"server error {status}")
    if method == "HEAD":
        return found
    if not headers.get("content-type", "").startswith("application/json"):
        found.append(f"content-type {headers.get('content-type')!r}")
        return found
    document = json.loads(body)
    if status >= 400:
        error = document.get("error") if isinstance(document, dict) else None
        if (not isinstance(error, dict) or set(error) != {"code", "message"}
                or not all(isinstance(v, str) and v for v in error.values())):
            found.append(f"error body not {{'error': {{code, message}}}}: {document!r}")
    return found


def _story_suite(story, intercept):
    suites = driver.build_tests(GABBITS, unittest.TestLoader(), intercept=intercept,
                                test_loader_name="multisite",
                                fixture_module=fixtures)
    for suite in suites:
        if any(test.test_base_name == story for test in suite):
            return suite
    raise LookupError(story)


@pytest.mark.parametrize("story", STORIES)
def test_story(story, wsgi_app):
    checked = ContractCheck(wsgi_app)
    suite = _story_suite(story, lambda: checked)
    result = unittest.TestResult()
    suite.run(result)
    failures = [f"{test.id()}:\n{trace}" for test, trace in result.failures + result.errors]
    assert not failures, "\n\n".join(failures)
    assert result.testsRun > 0
    assert not checked.violations, "\n".join(checked.violations)
