"""os-quota-class-sets: named quota classes (the `default` one sets the defaults)."""


class QuotaClassManager:
    def __init__(self, http):
        self.http = http

    def get(self, class_name):
        """{"class_name": ..., resource: limit, ...}."""
        return self.http.json("GET", f"/os-quota-class-sets/{class_name}")["quota_class_set"]

    def update(self, class_name, **limits):
        body = {"quota_class_set": limits}
        return self.http.json("PUT", f"/os-quota-class-sets/{class_name}",
                              body=body)["quota_class_set"]

    def delete(self, class_name):
        return self.http.json("DELETE", f"/os-quota-class-sets/{class_name}")
