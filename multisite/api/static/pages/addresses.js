// Addresses: the conflicts between regions with every side, and a search of the address
// index by IP, CIDR or MAC (/v2/address-conflicts, /v2/addresses; docs/addresses.md).
import * as api from "../api.js";
import { h, replace, errorBox, emptyState, when, table, card, field } from "../ui.js";

const LIMIT = 50;
const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i;

// Which filter of /v2/addresses a typed address is: mac, cidr or ip.
export function searchParam(text) {
  const value = text.trim();
  if (MAC.test(value)) return ["mac", value];
  if (value.includes("/")) return ["cidr", value];
  return ["ip", value];
}

const short = (id) => (id ? h("code", { title: id }, id.length > 12 ? `${id.slice(0, 8)}…` : id) : "—");

function side(s) {
  return h("li", { dataset: { region: s.region } }, h("strong", {}, s.region), " ", h("code", {}, s.address), ` ${s.kind}`,
    " · project ", short(s.project_id),
    s.network_id ? [" · network ", short(s.network_id)] : null,
    s.port_id ? [" · port ", short(s.port_id)] : null,
    s.device_owner ? [" · ", s.device_owner] : null,
    s.device_id ? [" ", short(s.device_id)] : null);
}

function conflictsTable(conflicts) {
  return table(["Kind", "Address", "Domain", "Sides", "First seen", "Last seen"], conflicts.map((c) =>
    h("tr", { dataset: { conflict: c.id, kind: c.kind, cleared: c.cleared_at ? "true" : "false" } },
      h("td", {}, h("span", { class: `badge ${c.cleared_at ? "none" : "bad"}` }, c.kind)),
      h("td", {}, h("code", {}, c.address)),
      h("td", {}, h("code", {}, c.domain)),
      h("td", {}, h("ul", { class: "sides" }, (c.sides || []).map(side))),
      h("td", {}, when(c.first_seen)),
      h("td", {}, c.cleared_at ? ["cleared ", when(c.cleared_at)] : when(c.last_seen)))), { className: "grid conflicts" });
}

function entriesTable(entries) {
  return table(["Address", "Kind", "Region", "Project", "Network", "Port", "Device", "Seen"], entries.map((e) =>
    h("tr", { dataset: { entry: e.id, region: e.region } },
      h("td", {}, h("code", {}, e.address)), h("td", {}, e.kind), h("td", {}, e.region), h("td", {}, short(e.project_id)),
      h("td", {}, short(e.network_id)), h("td", {}, short(e.port_id)),
      h("td", {}, e.device_owner || "", e.device_id ? [" ", short(e.device_id)] : null), h("td", {}, when(e.seen_at)))),
  { className: "grid addresses" });
}

function freshness(index) {
  if (!index || !index.length) return null;
  return h("p", { class: "muted footnote" }, "Index: ", index.map((i, n) => [n ? "; " : "",
    h("span", { class: i.ok === false ? "error-text" : "" }, `${i.region} `, i.ok === false ? `failing (${i.error || "error"}), last good ` : "audited ",
      when(i.audited_at), ` (${i.entries ?? 0} entries)`)]));
}

const more = (links) => (links && links.some((l) => l.rel === "next")
  ? h("p", { class: "muted footnote" }, `The first ${LIMIT} are shown: narrow the search, or page with the CLI (multisite address list).`) : null);

export async function render(ctx, mount) {
  const scope = { own: ctx.own, target: ctx.target, allProjects: false };
  let includeCleared = false;
  const conflictsBox = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Loading conflicts…"));
  const resultsBox = h("div", { "aria-live": "polite" });

  async function loadConflicts() {
    const params = api.scopeParams(scope, LIMIT);
    if (includeCleared) params.set("include_cleared", "true");
    try {
      const { data } = await api.get(`/v2/address-conflicts?${params}`);
      replace(conflictsBox, data.address_conflicts.length ? [conflictsTable(data.address_conflicts), more(data.links)]
        : emptyState("No address conflicts.", "The engine audits every region's ports, subnets and floating IPs; an address "
          + "used twice in one routable domain shows up here with both sides. Check a planned subnet with `multisite address check CIDR`."));
    } catch (error) {
      replace(conflictsBox, errorBox(error, "Address conflicts"));
    }
  }

  const address = h("input", { name: "address", required: true, spellcheck: "false", placeholder: "10.0.0.5, 10.0.0.0/24 or fa:16:3e:00:00:01" });
  async function search(event) {
    event.preventDefault();
    const [name, value] = searchParam(address.value);
    const params = api.scopeParams(scope, LIMIT);
    params.set(name, value);
    replace(resultsBox, h("p", { class: "loading" }, "Searching…"));
    try {
      const { data } = await api.get(`/v2/addresses?${params}`);
      replace(resultsBox, data.addresses.length ? [entriesTable(data.addresses), more(data.links)]
        : emptyState(`Nothing holds ${value}.`, "No port, subnet, floating IP or gateway of these projects has it in the last audit of any region."),
      freshness(data.index));
    } catch (error) {
      replace(resultsBox, errorBox(error, "Search"));
    }
  }
  const form = h("form", { class: "search", onsubmit: search }, field("IP, CIDR or MAC", address),
    h("button", { type: "submit", class: "secondary" }, "Search"));

  const admin = ctx.session.is_admin ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "addresses-all-projects",
    onchange: (event) => { scope.allProjects = event.target.checked; loadConflicts(); } }), "All projects") : null;
  const cleared = h("label", { class: "check" }, h("input", { type: "checkbox", id: "include-cleared",
    onchange: (event) => { includeCleared = event.target.checked; loadConflicts(); } }), "Cleared too");

  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Addresses"),
      h("p", { class: "muted" }, "Addresses that collide between regions, and who holds an address, for project ",
        h("code", {}, ctx.target), ".")),
    h("section", { class: "card", "aria-label": "Conflicts" },
      h("div", { class: "card-head" }, h("h2", {}, "Conflicts"), h("span", {}, cleared, " ", admin)), conflictsBox),
    card("Search", form, resultsBox));
  await loadConflicts();
}
