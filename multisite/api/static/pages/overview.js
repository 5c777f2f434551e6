// Overview: every region (catalog, last quota pass) and what is running now.
import * as api from "../api.js";
import { h, replace, errorBox, emptyState, badge, when, table, card } from "../ui.js";

export function regionNames(session, statuses) {
  const names = new Set((session.regions || []).map((r) => r.name));
  for (const row of statuses || []) names.add(row.region);
  return [...names].sort();
}

function health(status) {
  if (!status) return h("span", { class: "badge none" }, "no pass yet");
  return status.status === "SUCCESS" ? h("span", { class: "badge ok" }, "in sync")
    : h("span", { class: "badge bad" }, `failing ×${status.consecutive_failures || 1}`);
}

function stat(label, value, kind) {
  return h("div", { class: `stat ${kind || ""}` }, h("div", { class: "value" }, value), h("div", { class: "label" }, label));
}

export async function render(ctx, mount) {
  const p = encodeURIComponent(ctx.target);
  replace(mount, h("h1", {}, "Overview"), h("p", { class: "loading" }, "Loading regions…"));
  const [statusResult, activeResult] = await Promise.allSettled([
    api.get(`/v1.0/${p}/os-quota-sync-status/${p}`),
    api.get(`/v1.0/${p}/os-sync/active`),
  ]);
  const statuses = statusResult.status === "fulfilled" ? statusResult.value.data.sync_status : [];
  const active = activeResult.status === "fulfilled" ? activeResult.value.data.job_set : [];
  const byRegion = Object.fromEntries(statuses.map((s) => [s.region, s]));
  const catalog = Object.fromEntries((ctx.session.regions || []).map((r) => [r.name, r.services]));
  const names = regionNames(ctx.session, statuses);
  const failing = statuses.filter((s) => s.status !== "SUCCESS").length;

  const rows = names.map((name) => {
    const s = byRegion[name];
    return h("tr", { dataset: { region: name } },
      h("th", { scope: "row" }, name),
      h("td", {}, catalog[name] ? catalog[name].join(", ") : h("span", { class: "muted" }, "not in your catalog")),
      h("td", {}, health(s)),
      h("td", {}, s ? when(s.last_sync_at) : "—"),
      h("td", { class: "error-text" }, s && s.error ? s.error : ""));
  });
  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Overview"),
      h("p", { class: "muted" }, "Regions of the catalog, and the outcome of the last quota pass of project ",
        h("code", {}, ctx.target), " in each.")),
    statusResult.status === "rejected" ? errorBox(statusResult.reason, "Quota sync status") : null,
    activeResult.status === "rejected" ? errorBox(activeResult.reason, "Active sync jobs") : null,
    h("div", { class: "stats" },
      stat("regions", names.length),
      stat("failing the last quota pass", failing, failing ? "bad" : "ok"),
      stat("sync jobs running", active.length, active.length ? "busy" : "")),
    card("Regions", names.length
      ? table(["Region", "Services (catalog)", "Last quota pass", "When", "Last error"], rows, { className: "grid regions" })
      : emptyState("No regions known yet.",
        ctx.session.auth_strategy === "noauth"
          ? "In noauth mode regions are learnt from quota passes: open Quotas and press “Sync now” (admin), or wait for the periodic pass."
          : "Your token's catalog names no region: ask an administrator to add endpoints with a region.")),
    h("p", { class: "muted footnote" }, "A regions API with per-service health and capacity (issue 12) will replace this catalog view when it lands."));
}
