// Overview: every region (catalog, last quota pass) and what is running now.
import * as api from "../api.js";
import { h, replace, errorBox, emptyState, badge, when, table, card } from "../ui.js";
import { capacityCard } from "./capacity.js";

export function regionNames(session, statuses, probed) {
  const names = new Set((session.regions || []).map((r) => r.name));
  for (const row of statuses || []) names.add(row.region);
  for (const region of probed || []) names.add(region.name);
  return [...names].sort();
}

const HEALTH = { up: "ok", down: "bad", degraded: "busy", unknown: "none" };

function services(probedRegion, catalogServices) {
  if (probedRegion && Object.keys(probedRegion.services || {}).length) {
    return h("span", { class: "service-list" }, Object.entries(probedRegion.services).map(([name, s]) =>
      h("span", { class: `svc ${s.reachable === true ? "up" : s.reachable === false ? "down" : ""}`,
        title: s.reachable === false ? `${name}: ${s.last_error || "unreachable"}`
          : `${name}: ${s.latency_ms ?? "?"} ms, version ${s.version || "?"}` }, name)));
  }
  return catalogServices ? catalogServices.join(", ") : h("span", { class: "muted" }, "not in your catalog");
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
  const [statusResult, activeResult, healthResult, capacityResult] = await Promise.allSettled([
    api.get(`/v1.0/${p}/os-quota-sync-status/${p}`),
    api.get(`/v1.0/${p}/os-sync/active`),
    api.get("/v2/regions"),
    // capacity is for admins (policy multisite:capacity:show), as Nova's hypervisor statistics
    ctx.session.is_admin ? api.get("/v2/capacity") : Promise.reject(null),
  ]);
  // /v2/regions (issue 12) when this Multisite has it; the catalog alone otherwise
  const probed = healthResult.status === "fulfilled" ? healthResult.value.data.regions : [];
  const healthOf = Object.fromEntries(probed.map((r) => [r.name, r]));
  const statuses = statusResult.status === "fulfilled" ? statusResult.value.data.sync_status : [];
  const active = activeResult.status === "fulfilled" ? activeResult.value.data.job_set : [];
  const byRegion = Object.fromEntries(statuses.map((s) => [s.region, s]));
  const catalog = Object.fromEntries((ctx.session.regions || []).map((r) => [r.name, r.services]));
  const names = regionNames(ctx.session, statuses, probed);
  const down = probed.filter((r) => r.status === "down" || r.status === "degraded").length;
  const failing = statuses.filter((s) => s.status !== "SUCCESS").length;

  const rows = names.map((name) => {
    const s = byRegion[name];
    const probedRegion = healthOf[name];
    const serviceErrors = probedRegion ? Object.entries(probedRegion.services || {})
      .filter(([, v]) => v.reachable === false).map(([k, v]) => `${k}: ${v.last_error || "unreachable"}`) : [];
    return h("tr", { dataset: { region: name, health: probedRegion ? probedRegion.status : "" } },
      h("th", { scope: "row" }, name),
      h("td", {}, probedRegion ? h("span", { class: `badge ${HEALTH[probedRegion.status] || "none"}` }, probedRegion.status) : "—"),
      h("td", {}, services(probedRegion, catalog[name])),
      h("td", {}, health(s)),
      h("td", {}, s ? when(s.last_sync_at) : "—"),
      h("td", { class: "error-text" }, [s && s.error ? s.error : null, ...serviceErrors].filter(Boolean).join("; ")));
  });
  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Overview"),
      h("p", { class: "muted" }, "Every region's health as the engine last probed it, and the outcome of the last quota pass of project ",
        h("code", {}, ctx.target), " in each.")),
    statusResult.status === "rejected" ? errorBox(statusResult.reason, "Quota sync status") : null,
    activeResult.status === "rejected" ? errorBox(activeResult.reason, "Active sync jobs") : null,
    h("div", { class: "stats" },
      stat("regions", names.length),
      probed.length ? stat("down or degraded", down, down ? "bad" : "ok") : null,
      stat("failing the last quota pass", failing, failing ? "bad" : "ok"),
      stat("sync jobs running", active.length, active.length ? "busy" : "")),
    card("Regions", names.length
      ? table(["Region", "Health", probed.length ? "Services (probed)" : "Services (catalog)", "Last quota pass", "When", "Last error"], rows, { className: "grid regions" })
      : emptyState("No regions known yet.",
        ctx.session.auth_strategy === "noauth"
          ? "In noauth mode regions are learnt from quota passes: open Quotas and press “Sync now” (admin), or wait for the periodic pass."
          : "Your token's catalog names no region: ask an administrator to add endpoints with a region.")),
    ctx.session.is_admin ? capacityCard(capacityResult) : null,
    probed.length ? null : h("p", { class: "muted footnote" }, "No region has been probed yet (or this Multisite has no /v2/regions): regions come from the catalog."));
}
