// Events: the central feed (Multisite's own actions and every region's notifications),
// filterable, following live by polling.
import * as api from "../api.js";
import { h, replace, errorBox, emptyState, when, table, card, field } from "../ui.js";
import { regionNames } from "./overview.js";

const POLL_MS = 4000;
const LIMIT = 50;

export function eventsQuery({ target, own, allProjects, region, eventType }) {
  const params = api.scopeParams({ target, own, allProjects }, LIMIT);
  if (region) params.set("region", region);
  if (eventType) params.set("event_type", eventType);
  return `/v2/events?${params}`;
}

function row(event) {
  return h("tr", { dataset: { event: event.id, type: event.event_type } },
    h("td", {}, when(event.generated_at || event.received_at)),
    h("td", {}, event.region || h("span", { class: "muted" }, event.origin || "—")),
    h("td", {}, h("code", {}, event.event_type)),
    h("td", {}, event.resource_id ? h("code", {}, event.resource_id) : "—"),
    h("td", {}, event.project_id ? h("code", {}, event.project_id.slice(0, 8)) : "—"),
    h("td", {}, event.user_id || "—"),
    h("td", {}, event.request_id ? h("code", { class: "request-id" }, event.request_id) : "—"));
}

export async function render(ctx, mount) {
  const filters = { target: ctx.target, own: ctx.own, allProjects: false, region: "", eventType: "" };
  let timer = null;
  let stopped = false;
  const listBox = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Loading events…"));
  const updated = h("span", { class: "muted" });
  const follow = h("input", { type: "checkbox", id: "follow", checked: true,
    onchange: () => (follow.checked ? refresh() : clearTimeout(timer)) });

  async function refresh() {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const events = (await api.get(eventsQuery(filters))).data.events;
      if (stopped) return;
      replace(listBox, events.length
        ? table(["When", "Region", "Type", "Resource", "Project", "User", "Request"], events.map(row), { className: "grid events" })
        : emptyState("No events match.", "Multisite records its own actions here (quota changes, syncs, region up/down); "
          + "with notification listeners configured, every region's events arrive too. Change a limit on Quotas to see one."));
      replace(updated, `updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      replace(listBox, error.status === 404 && error.code === "request.not_found"
        ? emptyState("This Multisite has no event feed yet.", "The /v2/events API arrives with the regions and events work (issue 12).")
        : errorBox(error, "Events"));
    }
    if (follow.checked && !stopped) timer = setTimeout(refresh, POLL_MS);
  }

  // the regions (for the filter) are asked at the same time as the feed, not before it
  const target = encodeURIComponent(ctx.target);
  const first = refresh();
  const statuses = await api.get(`/v1.0/${target}/os-quota-sync-status/${target}`)
    .then((answer) => answer.data.sync_status, () => []); // catalog only
  const region = h("select", { name: "region", onchange: () => { filters.region = region.value; refresh(); } },
    h("option", { value: "" }, "every region"), regionNames(ctx.session, statuses).map((r) => h("option", { value: r }, r)));
  const eventType = h("input", { name: "event_type", placeholder: "e.g. multisite.quota.update", spellcheck: "false" });
  const form = h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); filters.eventType = eventType.value.trim(); refresh(); } },
    field("Region", region), field("Event type", eventType),
    ctx.session.is_admin ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "events-all-projects",
      onchange: (event) => { filters.allProjects = event.target.checked; refresh(); } }), "All projects") : null,
    h("button", { type: "submit", class: "secondary" }, "Filter"));

  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Events"),
      h("p", { class: "muted" }, "The central feed of project ", h("code", {}, ctx.target), ", newest first.")),
    card("Filters", form),
    h("section", { class: "card", "aria-label": "Feed" },
      h("div", { class: "card-head" }, h("h2", {}, "Feed"),
        h("span", {}, h("label", { class: "check" }, follow, "Follow live"), " ", updated)),
      listBox));
  await first;
  return () => { stopped = true; clearTimeout(timer); };
}
