"""The dashboard's Addresses page, capacity bars and sync-policy views end to end:
headless Chromium, real multisite-api + multisite-engine (Keystone auth, RabbitMQ on a
private vhost) on the devcloud, with what they show made with real OpenStack calls.

An image rollout is started from the Sync page's form (waves RegionTwo, then
RegionThree, promoted by hand), followed wave by wave, promoted and rolled back from the
page, each state as the API answers it.

The member's project gets the same subnet CIDR in RegionOne and RegionTwo (a `cidr`
conflict of its routable domain) and a keypair with a keypair policy to the other
regions. The engine audits addresses and probes capacity on short periods. The member
sees the conflict with both sides, finds both subnets by CIDR, audits the policy from
the page and sees each target's state (as the API answers it); the admin sees every
region's capacity bars, equal to /v2/capacity. Screenshots: <tmp>/screenshots/*.png.
"""

import os
import random

import pytest
import urllib3

from tests import browser
from tests.functional.test_api_process import rabbit_vhost  # noqa: F401 (fixture)
from tests.integration.test_dashboard_e2e import _keypair, _login, _logout, _shots, api_and_engine
from tests.integration.test_images import _upload, cleanup_images
from tests.integration.usage import unique

pytestmark = pytest.mark.integration
R1, R2, R3 = "RegionOne", "RegionTwo", "RegionThree"


@pytest.fixture
def multisite(devcloud, rabbit_vhost, tmp_path):  # noqa: F811 (fixture)
    """multisite-api and multisite-engine with short capacity and address audit periods
    (sync policies are audited only when asked, by the page)."""
    extra = ("[health]\nenabled = true\ninterval = 30\ncapacity_interval = 60\n"
             "[addresses]\naudit_interval = 5\n[sync_policy]\naudit_interval = 3600\n"
             "[image_distribution]\nscan_interval = 0.3\nrollout_poll = 0.3\n")
    with api_and_engine(devcloud, rabbit_vhost, tmp_path, extra) as origin:
        yield origin


def _api(origin, token, method, path, body=None):
    got = urllib3.request(method, origin + path, json=body,
                          headers={"X-Auth-Token": token, "Accept": "application/json"},
                          timeout=120)
    assert got.status < 300, (method, path, got.status, got.data[:500])
    return got.json()


def _reload_until(page, ready, what, tries=90):
    for _ in range(tries):
        if ready():
            return
        page.wait_for_timeout(1000)
        page.reload()
        page.locator(".page h1").wait_for()
    raise AssertionError(f"not shown after {tries} reloads: {what}")


def test_addresses_policies_and_capacity(multisite, devcloud, fresh_project, usage, tmp_path):
    origin = multisite
    cidr = f"10.{random.randrange(100, 250)}.{random.randrange(0, 250)}.0/24"
    for region in (R1, R2):
        usage.subnet(region, cidr=cidr)
    member_token = devcloud.token(fresh_project.credentials)
    shots = _shots(tmp_path)
    with browser.chromium() as chromium, _keypair(fresh_project, unique("pol")) as keypair:
        created = _api(origin, member_token, "POST", "/v2/sync-policies", {"sync_policy": {
            "resource_type": "keypair", "resources": [keypair], "source": R1,
            "targets": "all"}})["sync_policy"]

        # -- member: the conflict with both sides, the search, the policy --------------
        member = browser.Watched(chromium, origin, shots)
        page = member.page
        page.goto("/dashboard/#/addresses")
        _login(page, fresh_project.credentials)
        page.get_by_role("heading", name="Addresses").wait_for()
        conflict = page.locator(f'table.conflicts tr[data-kind=cidr]:has(code:text-is("{cidr}"))')
        _reload_until(page, lambda: conflict.count() == 1, f"the cidr conflict of {cidr}")
        assert conflict.locator(f".sides li[data-region={R1}]").count() == 1
        assert conflict.locator(f".sides li[data-region={R2}]").count() == 1
        assert fresh_project.id[:8] in conflict.inner_text()
        member.shot("21-addresses-conflict")
        page.get_by_label("IP, CIDR or MAC").fill(cidr)
        page.get_by_role("button", name="Search").click()
        found = page.locator("table.addresses tbody tr")
        found.first.wait_for()
        assert {row.get_attribute("data-region") for row in found.all()} == {R1, R2}
        assert "entries" in page.locator(".footnote").last.inner_text()  # index freshness
        member.shot("22-addresses-search")

        page.get_by_role("link", name="Sync").click()
        block = page.locator(f'.policy[data-policy="{created["id"]}"]')
        block.wait_for()
        assert "Not audited yet." in block.inner_text()
        block.get_by_role("button", name=f"Audit policy {created['id']} now").click()
        page.get_by_text(f"Policy {created['id']} audited.").wait_for()
        block.locator("table.targets-state").wait_for()
        shown = {row.get_attribute("data-target"): row.get_attribute("data-state")
                 for row in block.locator("table.targets-state tbody tr").all()}
        answered = _api(origin, member_token, "GET", f"/v2/sync-policies/{created['id']}")
        expected = {t["region"]: t["state"] for t in answered["sync_policy"]["targets_state"]}
        assert shown == expected and set(shown) == set(devcloud.regions) - {R1}
        assert set(shown.values()) == {"missing"}  # observe: reported, not copied
        member.shot("23-sync-policy-audited")
        assert page.locator("#policies-all-projects").count() == 0
        _logout(member, origin)
        member.assert_clean()
        member.close()

        # -- admin: capacity bars as /v2/capacity says ---------------------------------
        admin = browser.Watched(chromium, origin, shots)
        page = admin.page
        page.goto("/dashboard/")
        _login(page, devcloud.admin)
        page.get_by_role("heading", name="Overview").wait_for()
        network_bar = page.locator(f"table.capacity tr[data-region={R1}] td[data-kind=network]")
        _reload_until(page, lambda: network_bar.locator(".util").count() == 1,
                      "RegionOne's IP capacity")
        for _ in range(3):  # a collection may land between the page and the direct call
            page.reload()
            page.locator("table.capacity").wait_for()
            texts = {region: page.locator(f"table.capacity tr[data-region={region}] "
                                          "td[data-kind=network] small").first.inner_text()
                     for region in devcloud.regions}
            capacity = _api(origin, devcloud.token(), "GET", "/v2/capacity")["capacity"]
            wanted = {r["name"]: "{:,} / {:,}".format(r["network"]["figures"]["ips_used"],
                                                      r["network"]["figures"]["ips_total"])
                      for r in capacity["regions"]}
            if all(texts[region].startswith(wanted[region]) for region in devcloud.regions):
                break
        assert all(texts[region].startswith(wanted[region]) for region in devcloud.regions), (
            texts, wanted)
        assert page.locator("table.capacity tr.total").count() == 1
        admin.shot("24-overview-capacity")
        _logout(admin, origin)
        admin.assert_clean()
        admin.close()


def _rollout_shown(block):
    """(the rollout's state, [(wave state, {region: state})]) as the page draws it."""
    waves = [(wave.get_attribute("data-state"),
              {li.get_attribute("data-region"): li.get_attribute("data-state")
               for li in wave.locator(".wave-regions li").all()})
             for wave in block.locator("li.wave").all()]
    return block.get_attribute("data-state"), waves


def _rollout_answered(answer):
    return answer["state"], [(w["state"], {r["region"]: r["state"] for r in w["regions"]})
                             for w in answer["waves"]]


def test_image_rollout_on_the_sync_page(multisite, devcloud, fresh_project, tmp_path):
    origin = multisite
    member_token = devcloud.token(fresh_project.credentials)
    shots = _shots(tmp_path)
    with browser.chromium() as chromium, cleanup_images(devcloud, fresh_project):
        image = _upload(fresh_project.connect(R1), unique("dash-img"), os.urandom(64 * 1024))
        member = browser.Watched(chromium, origin, shots)
        page = member.page
        page.goto("/dashboard/#/sync")
        _login(page, fresh_project.credentials)
        page.get_by_role("heading", name="Sync", exact=True).wait_for()
        page.get_by_text("No image rollouts.").wait_for()
        page.get_by_label("Image id").fill(image.id)
        page.get_by_label("Rollout source").select_option(R1)
        page.get_by_label("Waves").fill(f"{R2}; {R3}")
        page.get_by_label("Wait for “Promote” after each wave").check()
        page.get_by_role("button", name="Start rollout").click()
        page.get_by_text("started.").wait_for()
        block = page.locator(".rollout").first
        rollout_id = block.get_attribute("data-rollout")
        path = f"/v2/image-rollouts/{rollout_id}"

        # the canary wave is copied, verified and switched; the page follows by itself
        page.locator(f'.rollout[data-rollout="{rollout_id}"][data-state=waiting]').wait_for(
            timeout=180_000)
        answered = _api(origin, member_token, "GET", path)["image_rollout"]
        assert _rollout_shown(block) == _rollout_answered(answered)
        assert _rollout_shown(block) == ("waiting", [("done", {R2: "switched"}),
                                                     ("pending", {R3: "pending"})])
        member.shot("25-rollout-waiting")

        block.get_by_role("button", name=f"Promote rollout {rollout_id}").click()
        page.locator(f'.rollout[data-rollout="{rollout_id}"][data-state=succeeded]').wait_for(
            timeout=180_000)
        assert _rollout_shown(block) == ("succeeded", [("done", {R2: "switched"}),
                                                       ("done", {R3: "switched"})])
        assert _rollout_shown(block) == _rollout_answered(
            _api(origin, member_token, "GET", path)["image_rollout"])
        assert block.get_by_role("button", name=f"Promote rollout {rollout_id}").count() == 0
        member.shot("26-rollout-succeeded")

        block.get_by_role("button", name=f"Roll back rollout {rollout_id}").click()
        page.locator(f'.rollout[data-rollout="{rollout_id}"][data-state=rolled_back]').wait_for(
            timeout=180_000)
        answered = _api(origin, member_token, "GET", path)["image_rollout"]
        assert _rollout_shown(block) == _rollout_answered(answered)
        assert "rolled back on request" in block.inner_text()
        assert block.get_by_role("button").count() == 0  # nothing left to do with it
        member.shot("27-rollout-rolled-back")
        _logout(member, origin)
        member.assert_clean()
        member.close()
