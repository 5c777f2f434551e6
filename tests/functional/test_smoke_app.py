"""The in-process app answers with the engine behind it over fake:// RPC."""

import json

import webob


def _get(app, path, **headers):
    req = webob.Request.blank(path, headers=headers)
    return req.get_response(app)


def test_detail_goes_through_rpc(wsgi_app, project_id):
    resp = _get(wsgi_app, f"/v1.0/{project_id}/os-quota-sets/{project_id}/detail",
                **{"X-Project-Id": project_id, "X-Roles": "member"})
    assert resp.status_int == 200
    body = json.loads(resp.body)["quota_set"]
    assert body["limits"]["ram"] == 51200
    assert set(body["usage"]) == set(body["limits"])
