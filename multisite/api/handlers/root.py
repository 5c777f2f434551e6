"""GET /: the version document (no authentication)."""

from multisite.api import wsgi


def versions(req):
    url = req.application_url.rstrip("/")
    return wsgi.json_response({"versions": [{
        "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{url}/v1.0/"}],
        "id": "v1.0",
        "updated": "2016-03-07",
    }, {
        # Multisite's own resources (regions, capacity, events, ...): docs/api.md.
        "status": "CURRENT",
        "links": [{"rel": "self", "href": f"{url}/v2/"}],
        "id": "v2",
        "updated": "2026-12-03",
    }]})
