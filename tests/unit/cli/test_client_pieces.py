"""Pure parts of the client library: errors, endpoints, templates, wait progress."""

import json
import tomllib
from pathlib import Path

import pytest

from multisite.cli import commands, progress
from multisite.client import exceptions, http, sync_jobs


@pytest.mark.parametrize("status,cls", [
    (400, exceptions.BadRequest), (401, exceptions.Unauthorized), (403, exceptions.Forbidden),
    (404, exceptions.NotFound), (406, exceptions.JobInProgress), (409, exceptions.Conflict),
    (500, exceptions.ServerError), (503, exceptions.ServerError), (418, exceptions.HTTPError),
])
def test_error_types_by_status(status, cls):
    err = exceptions.from_response(status, {"error": {"code": "x.y", "message": "nope"}})
    assert isinstance(err, cls)
    assert (err.status, err.code, err.message) == (status, "x.y", "nope")


def test_job_in_progress_is_a_conflict():
    assert issubclass(exceptions.JobInProgress, exceptions.Conflict)


def test_text_and_empty_error_bodies():
    assert exceptions.from_response(404, "Job not found\n").message == "Job not found"
    assert exceptions.from_response(500, None).message == "HTTP 500"


@pytest.mark.parametrize("url", ["http://h:8118", "http://h:8118/", "http://h:8118/v1.0",
                                 "http://h:8118/v1.0/"])
def test_endpoint_normalized(url):
    assert http.normalize_endpoint(url) == "http://h:8118/v1.0"


def test_templates_json_and_yaml(tmp_path):
    entry = {"resource_type": "keypair", "resources": ["kp"], "source": "RegionOne",
             "target": ["RegionTwo"]}
    (tmp_path / "t.json").write_text(json.dumps({"Sync": [entry]}))
    (tmp_path / "t.yaml").write_text(
        "Sync:\n  - resource_type: keypair\n    resources: [kp]\n    source: RegionOne\n"
        "    target: [RegionTwo]\n")
    assert sync_jobs.load_template(str(tmp_path / "t.json")) == [entry]
    assert sync_jobs.load_template(str(tmp_path / "t.yaml")) == [entry]


@pytest.mark.parametrize("text,message", [
    ("{", "Syntax error"), ('{"Sync": []}', "non-empty 'Sync'"),
    ('{"Sync": [{"resource_type": "keypair"}]}', "lacks resources, source, target"),
])
def test_bad_templates(tmp_path, text, message):
    path = tmp_path / "t.json"
    path.write_text(text)
    with pytest.raises(sync_jobs.TemplateError, match=message):
        sync_jobs.load_template(str(path))


class _Jobs:
    def __init__(self, snapshots):
        self.snapshots = list(snapshots)

    def get(self, job_id):
        return self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]


def _row(target, status):
    return {"target_region": target, "sync_status": status}


def test_wait_reports_each_change_per_region():
    jobs = _Jobs([
        [_row("R2", "IN_PROGRESS"), _row("R3", "IN_PROGRESS")],
        [_row("R2", "SUCCESS"), _row("R3", "IN_PROGRESS")],
        [_row("R2", "SUCCESS"), _row("R3", "FAILURE")],
    ])
    now = [0.0]
    out = []

    class Out:
        def write(self, text):
            out.append(text.strip())

        def flush(self):
            pass

    rows = progress.wait(jobs, "j", out=Out(), interval=1, clock=lambda: now[0],
                         sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert [r["sync_status"] for r in rows] == ["SUCCESS", "FAILURE"]
    assert len(out) == 4  # R2 and R3 at start, R2 done, R3 done
    assert out[-1].endswith("R3: 1/1 finished (0 SUCCESS, 1 FAILURE) done")


def test_wait_times_out():
    jobs = _Jobs([[_row("R2", "IN_PROGRESS")]])
    now = [0.0]
    with pytest.raises(TimeoutError):
        progress.wait(jobs, "j", out=open("/dev/null", "w"), interval=5, timeout=10,
                      clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))


def test_osc_entry_points_match_pyproject():
    pyproject = tomllib.loads(
        (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    declared = pyproject["project"]["entry-points"]["openstack.multisite.v1"]
    assert declared == commands.osc_entry_points()
    assert pyproject["project"]["entry-points"]["openstack.cli.extension"] == {
        "multisite": "multisite.cli.plugin"}
