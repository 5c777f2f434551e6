"""The dashboard end to end: headless Chromium, real multisite-api + multisite-engine
(Keystone auth, RabbitMQ on a private vhost) on the devcloud.

An admin logs in (after a wrong password), sees every region, changes a project's cores
limit through the form (the API's value changes) and asks for a rebalance; a member
starts a keypair sync and watches its rows reach SUCCESS, then sees a failure's message,
and has no admin control; both log out. Throughout: the cookie is HttpOnly and
SameSite=Strict, no token reaches a URL, localStorage or document.cookie, the page runs
under its CSP without a console error and fetches nothing from elsewhere.
Screenshots of every page: <tmp>/screenshots/*.png.
"""

import contextlib
import os
from pathlib import Path

import pytest
import urllib3

from multisite.devcloud import multisite_conf
from tests import browser
from tests.functional.api import servers
from tests.functional.test_api_process import rabbit_vhost  # noqa: F401 (fixture)
from tests.integration.usage import PUBLIC_KEY, unique

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/{vhost}"


@contextlib.contextmanager
def api_and_engine(devcloud, vhost, tmp_path, extra_config):
    """multisite-api and multisite-engine on a free port, Keystone auth (the devcloud's,
    at its port offset), on `vhost`, with `extra_config` appended to the devcloud's
    configuration; yields the origin."""
    state = tmp_path / "state"
    state.mkdir()
    port = servers.free_port()
    config = state / "multisite.conf"
    config.write_text(multisite_conf.render(
        state, transport_url=RABBIT.format(vhost=vhost), port=port,
        periodic_enable=False, keystone_url=devcloud.keystone_url) + extra_config)
    servers.manage(str(config), "db_sync")
    engine = servers.start("multisite-engine", str(config), str(state))
    api = servers.start("multisite-api", str(config), str(state))
    try:
        servers.wait_engine(engine, f"sqlite:///{state}/multisite.sqlite", timeout=60)
        servers.wait_ready(api, port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        servers.stop(api)
        servers.stop(engine)


@pytest.fixture
def multisite(devcloud, rabbit_vhost, tmp_path):  # noqa: F811 (fixture)
    """multisite-api and multisite-engine, probing every region every 5 s."""
    probes = "[health]\nenabled = true\ninterval = 5\n"
    with api_and_engine(devcloud, rabbit_vhost, tmp_path, probes) as origin:
        yield origin


def _shots(tmp_path):
    # MULTISITE_SCREENSHOTS keeps them somewhere a CI job can collect
    return Path(os.environ.get("MULTISITE_SCREENSHOTS") or tmp_path / "screenshots")


def _login(page, creds, *, password=None):
    page.get_by_label("User name").fill(creds.username)
    page.get_by_label("Password").fill(password or creds.password)
    page.get_by_label("Project", exact=True).fill(creds.project_name)
    page.get_by_label("Domain").fill(creds.user_domain_name)
    page.get_by_role("button", name="Log in").click()


def _check_session_secrets(watched, origin):
    cookies = {c["name"]: c for c in watched.context.cookies(origin)}
    session = cookies["multisite_session"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict"
    assert session["expires"] > 0  # expires with the token, not a browser-session cookie
    token = session["value"]
    assert "multisite_session" not in watched.page.evaluate("document.cookie")
    assert watched.local_storage() == {}
    assert all(token not in v for v in watched.session_storage().values())
    assert all(token not in url for url in watched.urls)
    assert token not in watched.page.content()
    return token


def _logout(watched, origin):
    watched.page.get_by_role("button", name="Log out").click()
    watched.page.get_by_text("You are logged out.").wait_for()
    assert "multisite_session" not in {c["name"] for c in watched.context.cookies(origin)}
    status = watched.page.evaluate("fetch('/auth/session').then(r => r.status)")
    assert status == 401


@contextlib.contextmanager
def _keypair(project, name):
    project.connect(R1).compute.create_keypair(name=name, public_key=PUBLIC_KEY)
    try:
        yield name
    finally:
        for region in (R1, R2, R3):
            with contextlib.suppress(Exception):
                project.connect(region).compute.delete_keypair(name, ignore_missing=True)


def test_dashboard_end_to_end(multisite, devcloud, fresh_project, usage, tmp_path):
    origin = multisite
    for region in (R1, R2):  # usage in two regions: two segments in the network bar
        usage.network(region)
    shots = _shots(tmp_path)
    with browser.chromium() as chromium:
        # -- admin ---------------------------------------------------------------------
        admin = browser.Watched(chromium, origin, shots)
        page = admin.page
        response = page.goto("/dashboard/")
        assert "default-src 'none'" in response.headers["content-security-policy"]
        page.get_by_role("heading", name="Log in to Multisite").wait_for()
        admin.shot("01-login")
        _login(page, devcloud.admin, password="wrong-password")
        alert = page.get_by_role("alert")
        alert.wait_for()
        assert "Login failed" in alert.inner_text() and "refused" in alert.inner_text()
        assert alert.locator(".request-id").inner_text().startswith("req-")
        admin.shot("02-login-wrong-password")

        _login(page, devcloud.admin)
        page.get_by_role("heading", name="Overview").wait_for()
        for region in devcloud.regions:
            page.locator(f"table.regions tr[data-region={region}]").wait_for()
        token = _check_session_secrets(admin, origin)
        admin.shot("03-overview")

        page.locator("#project-switch").fill(fresh_project.id)
        page.get_by_role("button", name="View project").click()
        page.get_by_role("link", name="Quotas").click()
        cores = page.get_by_label("Global limit of cores")
        cores.fill("17")
        page.get_by_role("button", name="Save limits").click()
        page.get_by_text("Saved: cores = 17").wait_for()
        got = urllib3.request(
            "GET", f"{origin}/v1.0/{fresh_project.id}/os-quota-sets/{fresh_project.id}",
            headers={"X-Auth-Token": devcloud.token()})
        assert got.status == 200 and got.json()["quota_set"]["cores"] == 17
        page.get_by_role("button", name="Sync now").click()
        page.get_by_text("Sync requested").wait_for()
        for _ in range(30):  # the rebalance pass lands in a few seconds
            page.reload()
            page.get_by_role("heading", name="Quotas").wait_for()
            page.locator("table.quotas").wait_for()
            # every region's row, each with the pass's outcome (a row may show an older or
            # running pass first)
            if page.locator("table.passes .badge.ok").count() == len(devcloud.regions):
                break
            page.wait_for_timeout(1000)
        assert page.locator("table.passes tbody tr").count() == len(devcloud.regions)
        assert page.locator("table.passes .badge.ok").count() == len(devcloud.regions)
        network = page.locator("tr[data-resource=network]")
        assert network.locator("td[data-usage=network]").inner_text().startswith("2")
        assert network.locator(".bar .seg").count() == 2
        admin.shot("04-quotas-admin")
        page.get_by_role("link", name="Events").click()
        page.locator('table.events tr[data-type="multisite.quota.update"]').wait_for()
        page.locator('table.events tr[data-type="multisite.quota.sync"]').wait_for()
        admin.shot("05-events-admin")
        page.get_by_role("link", name="Sync").click()
        page.get_by_role("heading", name="Sync", exact=True).wait_for()
        assert page.locator("#all-projects").count() == 1
        # the engine probes every region ([health] interval): the Overview shows them up
        page.get_by_role("link", name="Overview").click()
        for _ in range(60):
            page.get_by_role("heading", name="Overview").wait_for()
            page.locator("table.regions").wait_for()
            if page.locator("table.regions tr[data-health=up]").count() == len(
                    devcloud.regions):
                break
            page.wait_for_timeout(1000)
            page.reload()
        assert page.locator("table.regions tr[data-health=up]").count() == len(devcloud.regions)
        admin.shot("06-overview-probed")
        _logout(admin, origin)
        # the revoked token is refused by Keystone itself
        check = urllib3.request("GET", f"{devcloud.keystone_url}/auth/tokens",
                                headers={"X-Auth-Token": devcloud.token(),
                                         "X-Subject-Token": token})
        assert check.status == 404
        admin.assert_clean()
        admin.close()

        # -- member --------------------------------------------------------------------
        member = browser.Watched(chromium, origin, shots)
        page = member.page
        page.goto("/dashboard/")
        _login(page, fresh_project.credentials)
        page.get_by_role("heading", name="Overview").wait_for()
        _check_session_secrets(member, origin)
        assert page.locator("#project-switch").count() == 0
        page.get_by_role("link", name="Quotas").click()
        page.locator("table.quotas").wait_for()
        assert "17" in page.locator("tr[data-resource=cores]").inner_text()
        assert page.locator("input.limit-input").count() == 0
        assert page.get_by_role("button", name="Save limits").count() == 0
        assert page.get_by_role("button", name="Sync now").count() == 0
        member.shot("07-quotas-member")

        page.get_by_role("link", name="Sync").click()
        page.get_by_role("heading", name="Sync", exact=True).wait_for()
        assert page.locator("#all-projects").count() == 0
        options = page.locator("select[name=resource_type] option").all_inner_texts()
        assert "flavor" not in options
        with _keypair(fresh_project, unique("dash")) as name:
            page.get_by_label("Resources").fill(name)
            page.get_by_label("Source region").select_option(R1)
            page.get_by_role("button", name="Start sync").click()
            page.get_by_text("started.").wait_for()
            rows = page.locator("table.rows tbody tr")
            page.wait_for_function(
                "n => document.querySelectorAll('table.rows tr[data-status=SUCCESS]').length"
                " === n", arg=len(devcloud.regions) - 1, timeout=120_000)
            assert rows.count() == len(devcloud.regions) - 1
            member.shot("08-sync-success")
            for region in devcloud.regions[1:]:
                assert fresh_project.connect(region).compute.get_keypair(name).name == name

            # the same again without force: every row fails, and says why
            page.get_by_role("button", name="Start sync").click()
            page.wait_for_function(
                "() => document.querySelectorAll('table.rows tr[data-status=FAILURE]')"
                ".length > 0", timeout=120_000)
            page.wait_for_function(
                "() => !document.querySelector('table.jobs tr[data-status=IN_PROGRESS]')",
                timeout=120_000)
            failed = page.locator("table.rows tr[data-status=FAILURE]").first
            assert failed.locator(".error-text").inner_text().strip()
            member.shot("09-sync-failure")

            # an API refusal shows its message and request id
            page.get_by_label("Resources").fill(unique("missing"))
            page.get_by_role("button", name="Start sync").click()
            alert = page.get_by_role("alert")
            alert.wait_for()
            assert "Sync not started" in alert.inner_text()
            assert alert.locator(".request-id").inner_text().startswith("req-")
            member.shot("10-sync-refused")
        _logout(member, origin)
        member.shot("11-logged-out")
        member.assert_clean()
        member.close()


def test_dashboard_in_firefox(multisite, devcloud, fresh_project, tmp_path):
    """The operator's key path in headless Firefox ESR (Marionette, tests/browser.py): log
    in with Keystone credentials, see every region, change a cores limit through the form
    (a write with the CSRF token; the same write without it is refused), log out. The
    cookie is HttpOnly and SameSite=Strict, no token reaches document.cookie or web
    storage, and every resource the page loaded came from its own origin (under its CSP).
    """
    origin = multisite
    with browser.firefox(origin, tmp_path, _shots(tmp_path)) as fx:
        fx.goto("/dashboard/")
        fx.wait_text("Log in to Multisite")
        creds = devcloud.admin
        fx.fill("input[name=username]", creds.username)
        fx.fill("input[name=password]", creds.password)
        fx.fill("form.login input[name=project]", creds.project_name)
        fx.fill("input[name=domain]", creds.user_domain_name)
        fx.click("form.login button[type=submit]")
        fx.find(".page h1", timeout=60)
        for region in devcloud.regions:
            fx.find(f"table.regions tr[data-region={region}]")
        fx.shot("firefox-01-overview")

        cookies = {c["name"]: c for c in fx.client.get_cookies()}
        session = cookies["multisite_session"]
        assert session["httpOnly"] is True and session["sameSite"] == "Strict", session
        token = session["value"]
        assert "multisite_session" not in fx.js("return document.cookie")
        assert fx.js("return window.localStorage.length") == 0
        stored = fx.js("return Object.values(Object.assign({}, window.sessionStorage))")
        assert all(token not in value for value in stored)
        assert token not in fx.js("return document.documentElement.outerHTML")
        loaded = fx.js("return performance.getEntriesByType('resource').map(e => e.name)")
        assert loaded and all(url.startswith(origin + "/") for url in loaded), loaded
        assert token not in " ".join(loaded)

        fx.fill("#project-switch", fresh_project.id)
        fx.click("form.switcher button[type=submit]")
        fx.wait("return location.hash.includes(arguments[0])", fresh_project.id)
        fx.click("nav a[data-page=quotas]")
        fx.fill('input.limit-input[name=cores]', "19")
        fx.click("#save-limits")
        fx.wait_text("Saved: cores = 19")
        fx.shot("firefox-02-quotas")
        got = urllib3.request(
            "GET", f"{origin}/v1.0/{fresh_project.id}/os-quota-sets/{fresh_project.id}",
            headers={"X-Auth-Token": devcloud.token()})
        assert got.status == 200 and got.json()["quota_set"]["cores"] == 19
        # the cookie alone does not make a write: without the CSRF header it is refused
        refused = fx.client.execute_async_script("""
            const [path, resolve] = arguments;
            fetch(path, {method: "PUT", credentials: "same-origin",
                         headers: {"Content-Type": "application/json"},
                         body: JSON.stringify({quota_set: {cores: 23}})})
              .then(async r => resolve([r.status, await r.text()]));
        """, script_args=[f"/v1.0/{fresh_project.id}/os-quota-sets/{fresh_project.id}"])
        assert refused[0] == 403 and "auth.csrf_invalid" in refused[1], refused

        fx.click("#logout")
        fx.wait_text("You are logged out.")
        assert "multisite_session" not in {c["name"] for c in fx.client.get_cookies()}
        status = fx.client.execute_async_script(
            "const [resolve] = arguments; fetch('/auth/session').then(r => resolve(r.status));")
        assert status == 401
        fx.shot("firefox-03-logged-out")
