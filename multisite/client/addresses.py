"""/v2 inventory, address index and address conflicts."""

from urllib import parse


def _params(**values):
    out = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        out[name] = "true" if value is True else str(value)
    return out


class AddressManager:
    def __init__(self, http):
        self.http = http

    def _all(self, path, key, params):
        """Every page of a /v2 collection (follows the next links' markers)."""
        items = []
        while True:
            body = self.http.json("GET", path, params=params, version="v2")
            items.extend(body[key])
            nxt = [link for link in body.get("links", ()) if link.get("rel") == "next"]
            if not nxt or not body[key]:
                return items, body
            params = dict(params, marker=_marker(nxt[0]["href"]))

    def inventory(self, *, project_id=None, resource_type=None, region=None, name=None,
                  refresh=False):
        """(items, body): the body holds unreachable_regions, errors, read_at, age."""
        return self._all("/inventory", "inventory", _params(
            project_id=project_id, type=resource_type, region=region, name=name,
            refresh=refresh))

    def inventory_summary(self, *, project_id=None, region=None, refresh=False):
        return self.http.json("GET", "/inventory/summary", version="v2", params=_params(
            project_id=project_id, region=region, refresh=refresh))

    def list(self, *, ip=None, cidr=None, mac=None, region=None, kind=None,
             project_id=None, all_projects=False):
        return self._all("/addresses", "addresses", _params(
            ip=ip, cidr=cidr, mac=mac, region=region, kind=kind, project_id=project_id,
            all_projects=all_projects))

    def get(self, address_id):
        return self.http.json("GET", f"/addresses/{address_id}", version="v2")["address"]

    def conflicts(self, *, kind=None, region=None, address=None, include_cleared=False,
                  project_id=None, all_projects=False):
        return self._all("/address-conflicts", "address_conflicts", _params(
            kind=kind, region=region, address=address, include_cleared=include_cleared,
            project_id=project_id, all_projects=all_projects))[0]

    def check(self, cidr, *, project_id=None, region=None):
        body = {"cidr": cidr}
        if project_id:
            body["project_id"] = project_id
        if region:
            body["region"] = region
        return self.http.json("POST", "/address-conflicts/check", body=body,
                              version="v2")


def _marker(href):
    return parse.parse_qs(parse.urlsplit(href).query)["marker"][0]
