"""The dashboard's ES modules joined into one script when the API starts (no npm, no build).

One request instead of one per module: on HTTP/1.1 a browser opens at most six
connections to a host, so a dozen modules arrive in waves, each file also paying the
API's middleware. The sources stay as they are (plain ES modules, loadable one by one);
this only understands the few forms they are written in and refuses anything else
(`BundleError`), in which case the page is served as separate modules, as before:

    import * as name from "./relative.js";
    import { a, b as c } from "../relative.js";
    export function f / export async function f / export class C / export const x

Each module becomes a function scope run once, in the order ES modules run (an import
before its importer, depth first in source order), returning its exports; an import
becomes a `const` taken from the module it names. `export let` and `export var` are
refused: a live binding that changes would no longer be seen by importers.
"""

import posixpath
import re

REGISTRY = "__multisiteModules"
_IMPORT = re.compile(
    r'^import\s+(?:\*\s+as\s+(?P<star>[A-Za-z_$][\w$]*)|\{(?P<names>[^}]*)\})\s+'
    r'from\s+"(?P<spec>\.{1,2}/[^"]+)";[ \t]*$', re.M)
_EXPORT = re.compile(
    r"^export\s+(?=(?:async\s+function\*?|function\*?|class|const)\s+(?P<name>[A-Za-z_$][\w$]*))",
    re.M)
_NAME = r"[A-Za-z_$][\w$]*"
# anything module-like left after the rewrite means a form this file does not know
_LEFT = re.compile(r"^\s*(?:import|export)\b|\bimport\s*\(|\bimport\.meta\b", re.M)


class BundleError(ValueError):
    """The modules use a form the bundler does not rewrite."""


def _bindings(names, rel):
    pairs = []
    for item in (n.strip() for n in names.split(",")):
        if not item:
            continue
        match = re.fullmatch(rf"({_NAME})(?:\s+as\s+({_NAME}))?", item)
        if not match:
            raise BundleError(f"{rel}: cannot rewrite the import of {item!r}")
        name, alias = match.groups()
        pairs.append(name if alias is None or alias == name else f"{name}: {alias}")
    return "{ " + ", ".join(pairs) + " }"


def _rewrite(rel, text):
    """(body of the module's function, the modules it imports in order)."""
    if REGISTRY in text:
        raise BundleError(f"{rel} uses the name {REGISTRY}")
    imports = []

    def one_import(match):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), match["spec"]))
        imports.append(target)
        source = f'{REGISTRY}["{target}"]'
        if match["star"]:
            return f"const {match['star']} = {source};"
        return f"const {_bindings(match['names'], rel)} = {source};"

    body = _IMPORT.sub(one_import, text)
    exports = [m["name"] for m in _EXPORT.finditer(body)]
    body = _EXPORT.sub("", body)
    left = _LEFT.search(body)
    if left:
        number = body.count("\n", 0, left.start()) + 1
        line = body.splitlines()[number - 1].strip()
        raise BundleError(f"{rel}:{number}: cannot bundle {line[:80]!r}")
    return body, imports, exports


def bundle(sources, entry):
    """One script from {relative path: text} of ES modules, `entry` run last.

    Served as a module script itself (strict, nothing global), so it needs no inline
    code and the CSP stays `script-src 'self'`.
    """
    rewritten = {}
    order, state = [], {}

    def visit(rel, chain):
        if state.get(rel) == "done":
            return
        if state.get(rel) == "open":
            raise BundleError("import cycle: " + " -> ".join([*chain, rel]))
        if rel not in sources:
            raise BundleError(f"{chain[-1] if chain else '?'} imports {rel}, which is not a file")
        state[rel] = "open"
        rewritten[rel] = _rewrite(rel, sources[rel])
        for target in rewritten[rel][1]:
            visit(target, [*chain, rel])
        state[rel] = "done"
        order.append(rel)

    visit(entry, [])
    parts = [f"// The dashboard's modules ({', '.join(order)}) joined by",
             "// multisite/api/bundle.py when the API started; edit the modules, not this.",
             f"const {REGISTRY} = Object.create(null);"]
    for rel in order:
        body, _imports, exports = rewritten[rel]
        parts.append(f"{REGISTRY}[\"{rel}\"] = (() => {{\n// ---- {rel}\n{body.rstrip()}\n"
                     f"return Object.freeze({{ {', '.join(exports)} }});\n}})();")
    return "\n".join(parts) + "\n"
