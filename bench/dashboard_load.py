"""Dashboard load time in headless Chromium, beside the API calls the page makes.

    .venv/bin/python -m bench.dashboard_load [--loads 10]

Starts multisite-all-in-one (noauth, SQLite) on a free loopback port, then for each
page (Overview, Quotas, Sync, Events, Addresses) loads it --loads times in a fresh browser
context (cold cache), timing navigation start to the page's heading with nothing left
loading. Beside it:
the same API calls made directly (urllib3, sequential), which is the floor the page
cannot beat. Prints p50 and max in milliseconds, and where the p50 load went (the
browser's Navigation and Resource Timing, from navigation start): `html` the page's
HTML received, `modules` every module fetched and run (DOMContentLoaded), `session`
GET /auth/session answered, `rendered` the page drawn with its data (the page's own
performance mark, free of the driver's polling), and the number of requests.
`--resources` also prints, for each page's last load, every request: when it was
started, how long it waited for a connection, the server's answer time and when
it ended (Resource Timing, from navigation start).
"""

import argparse
import statistics
import tempfile
import time
import uuid

import urllib3

from tests.functional.api import servers

PAGES = {
    "overview": ("Overview", ["/auth/session", "/v1.0/{p}/os-quota-sync-status/{p}",
                              "/v1.0/{p}/os-sync/active", "/v2/regions", "/v2/capacity"]),
    "quotas": ("Quotas", ["/auth/session", "/v1.0/{p}/os-quota-sets/{p}/detail",
                          "/v1.0/{p}/os-quota-sync-status/{p}"]),
    "sync": ("Sync", ["/auth/session", "/v1.0/{p}/os-quota-sync-status/{p}",
                      "/v1.0/{p}/os-sync", "/v2/sync-policies?limit=25",
                      "/v2/image-rollouts?limit=25"]),
    "events": ("Events", ["/auth/session", "/v1.0/{p}/os-quota-sync-status/{p}",
                          "/v2/events?limit=50"]),
    "addresses": ("Addresses", ["/auth/session", "/v2/address-conflicts?limit=50"]),
}
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def _direct(origin, project, paths, loads):
    http = urllib3.PoolManager()
    headers = {"X-Project-Id": project, "X-User-Id": "bench", "X-Roles": "admin"}
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        for path in paths:
            resp = http.request("GET", origin + path.format(p=project), headers=headers)
            assert resp.status == 200, (path, resp.status)
        times.append((time.perf_counter() - started) * 1000)
    return times


# from navigation start, in the page: HTML received, modules run, the session answered
TIMING = r"""() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const session = res.find(r => r.name.endsWith('/auth/session'));
  const shown = performance.getEntriesByName('multisite:page-rendered').pop();
  return {html: nav.responseEnd, modules: nav.domContentLoadedEventEnd,
          session: session ? session.responseEnd : 0, rendered: shown ? shown.startTime : 0,
          requests: res.length + 1,
          resources: res.map(r => [r.name.replace(/^https?:\/\/[^/]+/, ''), r.startTime,
                                   r.requestStart, r.responseStart, r.responseEnd])};
}"""


def _browser(browser, origin, project, page_name, heading, loads):
    cold, timings = [], []
    identity = f'{{"project_id": "{project}", "user_id": "bench", "roles": "admin"}}'
    script = f"sessionStorage.setItem('multisite.noauth.identity', '{identity}')"
    for _ in range(loads + 1):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_init_script(script)
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{origin}/dashboard/#/{page_name}")
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.wait_for_function("() => !document.querySelector('.loading')")
        cold.append((time.perf_counter() - started) * 1000)
        timings.append(page.evaluate(TIMING))
        context.close()
    # the first load also starts the browser's network service
    return cold[1:], timings[1:]


def _print_resources(resources):
    print(f"    {'start':>6} {'queued':>7} {'server':>7} {'end':>6}  request")
    for name, start, asked, first, end in sorted(resources, key=lambda r: r[1]):
        print(f"    {start:>6.0f} {asked - start:>7.0f} {first - asked:>7.0f} {end:>6.0f}  "
              f"{name[-60:]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=10)
    parser.add_argument("--resources", action="store_true",
                        help="print every request of each page's last load")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        config, port = servers.write_config(tmp, connection=f"sqlite:///{tmp}/ms.sqlite")
        servers.manage(config, "db_sync")
        proc = servers.start("multisite-all-in-one", config, tmp)
        try:
            servers.wait_ready(proc, port, timeout=120)
            origin = f"http://127.0.0.1:{port}"
            project = uuid.uuid4().hex
            print(f"{'page':<10} {'browser p50':>12} {'browser max':>12} "
                  f"{'direct API p50':>15} {'direct API max':>15}   "
                  f"{'html':>5} {'modules':>8} {'session':>8} {'rendered':>9} {'requests':>9}"
                  f"   (ms, {args.loads} loads)")
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=FLAGS, headless=True)
                for name, (heading, paths) in PAGES.items():
                    shown, timings = _browser(browser, origin, project, name, heading,
                                              args.loads)
                    direct = _direct(origin, project, paths, args.loads)
                    split = {key: statistics.median(t[key] for t in timings)
                             for key in ("html", "modules", "session", "rendered", "requests")}
                    print(f"{name:<10} {statistics.median(shown):>12.0f} {max(shown):>12.0f} "
                          f"{statistics.median(direct):>15.0f} {max(direct):>15.0f}   "
                          f"{split['html']:>5.0f} {split['modules']:>8.0f} "
                          f"{split['session']:>8.0f} {split['rendered']:>9.0f} "
                          f"{split['requests']:>9.0f}")
                    if args.resources:
                        _print_resources(timings[-1]["resources"])
                browser.close()
        finally:
            servers.stop(proc)


if __name__ == "__main__":
    main()
