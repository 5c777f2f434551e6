"""The `multisite` commands against the real app over HTTP (noauth mode)."""

import datetime
import json

import pytest
import yaml


def test_defaults_all_formats(cli):
    code, out, _ = cli("quota", "defaults", "-f", "json")
    assert code == 0
    rows = {row["Quota"]: row["Limit"] for row in json.loads(out)}
    assert rows["ram"] == 51200 and len(rows) == 20
    code, out, _ = cli("quota", "defaults", "-f", "yaml")
    assert {"Quota": "cores", "Limit": 20} in yaml.safe_load(out)
    code, out, _ = cli("quota", "defaults", "-f", "value", "-c", "Limit")
    assert out.split()[:2] == ["10", "20"]
    code, out, _ = cli("quota", "defaults")
    assert "| Quota" in out and "| instances" in out


def test_update_show_detail_delete(cli, project_id):
    code, out, _ = cli("quota", "update", project_id, "--cores", "7",
                       "--security_groups", "3", "-f", "json")
    assert code == 0
    assert json.loads(out) == [{"Quota": "cores", "Limit": 7},
                               {"Quota": "security_groups", "Limit": 3}]
    _, out, _ = cli("quota", "show", "-f", "json")
    assert {"Quota": "cores", "Limit": 7} in json.loads(out)
    _, out, _ = cli("quota", "show", "--tenant", project_id, "-f", "value")
    assert "cores 7" in out
    code, out, _ = cli("quota", "detail", "-f", "json")
    assert code == 0
    assert {"Quota": "cores", "Usage": 0, "Limit": 7} in json.loads(out)
    code, out, _ = cli("quota", "delete", project_id, "--resource", "cores")
    assert (code, out) == (0, f"Deleted cores quota limits of project {project_id}.\n")
    _, out, _ = cli("quota", "show", "-f", "value")
    assert "cores 20" in out and "security_groups 3" in out
    assert cli("quota", "delete", project_id)[0] == 0
    code, out, err = cli("quota", "delete", project_id)
    assert code == 1
    assert err.startswith("ERROR: Project quota not found") and "HTTP 404" in err
    assert "Traceback" not in err and "b'" not in err


def test_sync_triggers(cli, project_id):
    code, out, _ = cli("quota", "sync", project_id)
    assert code == 0 and "has been triggered" in out


def test_quota_class_cycle(cli):
    code, out, _ = cli("quota-class", "update", "default", "--cores", "40", "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert rows[0] == {"Quota": "class_name", "Limit": "default"}
    assert {"Quota": "cores", "Limit": 40} in rows
    _, out, _ = cli("quota", "defaults", "-f", "value")
    assert "cores 40" in out
    assert cli("quota-class", "show", "default", "-f", "value")[1].startswith(
        "class_name default\n")
    assert cli("quota-class", "delete", "default")[0] == 0
    code, _, err = cli("quota-class", "delete", "default")
    assert code == 1 and "HTTP 404" in err


def test_non_admin_gets_server_message(cli, project_id):
    code, out, err = cli("quota", "update", project_id, "--cores", "3", roles="member")
    assert code == 1 and out == ""
    assert err.startswith("ERROR: ") and "HTTP 403" in err


def test_update_needs_a_limit(cli, project_id):
    code, _, err = cli("quota", "update", project_id)
    assert code == 1 and err == "ERROR: Give at least one limit, e.g. --cores 10\n"


def test_sync_status_lists_regions(cli):
    code, out, err = cli("quota", "sync-status", "-f", "json")
    assert code == 0 and json.loads(out) == [] and not err


def test_sync_status_with_no_outcome_yet_says_a_pass_is_pending(cli, project_id):
    code, out, err = cli("quota", "sync-status", "--project", project_id)
    assert code == 0
    assert "pending or running" in err and project_id in err


def test_sync_status_right_after_sync_says_since_when_a_pass_is_pending(cli, project_id):
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    assert cli("quota", "sync", project_id)[0] == 0
    code, out, err = cli("quota", "sync-status", "--project", project_id)
    assert code == 0
    assert "requested by `quota sync` (requested at " in err and "pending or running" in err
    stamp = err.split("(requested at ")[1].split(")")[0]
    assert before <= datetime.datetime.fromisoformat(stamp) <= datetime.datetime.now(
        datetime.UTC)
    for fmt in ("json", "value"):  # machine formats stay clean
        code, out, err = cli("quota", "sync-status", "--project", project_id, "-f", fmt)
        assert (code, err) == (0, "") and out.strip() in ("[]", "")


def test_sync_status_shows_the_last_outcome_and_a_newer_pending_request(cli, project_id, db):
    from multisite.objects import sync_status

    sync_status.record_many(db, project_id, {"RegionOne": {"ok": True}})
    code, out, err = cli("quota", "sync-status", "--project", project_id)
    assert (code, err) == (0, "") and "| RegionOne" in out  # nothing pending: no note
    assert cli("quota", "sync", project_id)[0] == 0
    code, out, err = cli("quota", "sync-status", "--project", project_id)
    assert code == 0 and "| RegionOne" in out
    assert "requested by `quota sync` (requested at " in err
    assert "pending or running; the table shows the last finished one" in err


def test_unreachable_endpoint(cli, monkeypatch):
    monkeypatch.setenv("OS_MULTISITE_URL", "http://127.0.0.1:9")
    code, _, err = cli("quota", "show")
    assert code == 1
    assert err == "ERROR: Cannot reach Multisite at http://127.0.0.1:9/v1.0 (connection failed)\n"


@pytest.mark.parametrize("argv", [["sync", "template", "/nonexistent.json"],
                                  ["sync", "template", "/etc/hostname"]])
def test_template_errors_are_one_line(cli, argv):
    code, _, err = cli(*argv)
    assert code == 1 and err.startswith("ERROR: ") and err.count("\n") == 1
