"""multisite/api/bundle.py: the dashboard's modules joined into one script."""

import shutil
import subprocess

import pytest

from multisite.api import bundle, dashboard

SOURCES = {
    "app.js": 'import * as api from "./api.js";\nimport { h as make, twice } from "./lib/ui.js";\n'
              'globalThis.out = [api.NAME, make("p"), twice(2), api.Thing.name];\n',
    "api.js": 'import { twice } from "./lib/ui.js";\nexport const NAME = "api" + twice(1);\n'
              "export class Thing {}\nexport async function later() { return 1; }\n",
    "lib/ui.js": "// helpers\nexport function h(tag) { return `<${tag}>`; }\n"
                 "export const twice = (n) => n * 2;\nconst hidden = 1;\n",
}


def test_modules_run_before_their_importers_once_with_their_exports():
    joined = bundle.bundle(SOURCES, "app.js")
    order = [joined.index(f'{bundle.REGISTRY}["{rel}"] = ')
             for rel in ("lib/ui.js", "api.js", "app.js")]
    assert order == sorted(order)
    assert joined.count(f'{bundle.REGISTRY}["lib/ui.js"] = ') == 1
    assert 'const { h: make, twice } = __multisiteModules["lib/ui.js"];' in joined
    assert 'const api = __multisiteModules["api.js"];' in joined
    assert "return Object.freeze({ NAME, Thing, later });" in joined
    assert "return Object.freeze({ h, twice });" in joined  # `hidden` stays private
    assert "export " not in joined and "import " not in joined


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the script")
def test_the_joined_script_runs_as_the_modules_would():
    script = bundle.bundle(SOURCES, "app.js") + "console.log(JSON.stringify(globalThis.out));\n"
    out = subprocess.run(["node", "--input-type=module", "-e", script], check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == '["api2","<p>",4,"Thing"]'


@pytest.mark.parametrize("source, refused", [
    ("export default 1;\n", "export default"),
    ("export let x = 1;\n", "export let"),
    ("export { a };\n", "export {"),
    ('import x from "./b.js";\n', "import x"),
    ('const b = await import("./b.js");\n', "import("),
    ("const u = import.meta.url;\n", "import.meta"),
    ('import { a } from "https://example.com/a.js";\n', "import {"),
    ("const __multisiteModules = 1;\n", "__multisiteModules"),
])
def test_forms_it_cannot_rewrite_are_refused(source, refused):
    with pytest.raises(bundle.BundleError) as exc:
        bundle.bundle({"a.js": source, "b.js": "export const b = 1;\n"}, "a.js")
    assert refused in str(exc.value)


def test_cycles_and_missing_modules_are_refused():
    with pytest.raises(bundle.BundleError, match="cycle: a.js -> b.js -> a.js"):
        bundle.bundle({"a.js": 'import * as b from "./b.js";\n',
                       "b.js": 'import * as a from "./a.js";\n'}, "a.js")
    with pytest.raises(bundle.BundleError, match="a.js imports c.js"):
        bundle.bundle({"a.js": 'import * as c from "./c.js";\n'}, "a.js")


def test_the_dashboard_bundles_every_module():
    files, _version = dashboard.load()
    joined = dashboard.with_bundle(files)[dashboard.BUNDLE][0].decode()
    for rel in (r for r in files if r.endswith(".js")):
        assert f'{bundle.REGISTRY}["{rel}"] = ' in joined, rel
    assert joined.rstrip().endswith("})();")
