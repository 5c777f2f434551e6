"""/v2/events: the central event feed."""


class EventManager:
    def __init__(self, http):
        self.http = http

    def list(self, *, region=None, project=None, all_projects=False, event_type=None,
             resource_id=None, since=None, until=None, limit=None, ascending=False,
             marker=None):
        """Events, newest first (oldest first with ``ascending``), following pages."""
        params = {"region": region, "project_id": project, "event_type": event_type,
                  "resource_id": resource_id, "since": since, "until": until,
                  "marker": marker, "all_projects": "true" if all_projects else None,
                  "sort_dir": "asc" if ascending else None,
                  "limit": str(min(limit, 1000)) if limit else None}
        return self.http.v2_collection("/events", "events", params, limit=limit)

    def get(self, event_id):
        return self.http.json("GET", f"/events/{event_id}", version="v2")["event"]
