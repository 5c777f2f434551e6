// Quotas: a project's global limits, its usage per region as stacked bars, the last
// rebalance pass per region; admins edit limits and trigger a sync.
import * as api from "../api.js";
import { h, replace, errorBox, notice, emptyState, badge, when, table, card, regionColor, num } from "../ui.js";

// How a resource's bar is scaled: against its limit, or its usage when unlimited / over.
export function segments(resource, limit, regions) {
  const parts = regions.map((r, index) => ({ region: r.region, index, value: (r.usage || {})[resource] || 0 }))
    .filter((p) => p.value > 0);
  const used = parts.reduce((sum, p) => sum + p.value, 0);
  const scale = Math.max(limit > 0 ? limit : 0, used, 1);
  return { used, scale, parts: parts.map((p) => ({ ...p, percent: (100 * p.value) / scale })) };
}

function bar(resource, limit, regions) {
  const { parts, scale } = segments(resource, limit, regions);
  const label = parts.map((p) => `${p.region} ${p.value}`).join(", ") || "nothing used";
  const node = h("div", { class: "bar", role: "img", "aria-label": `${resource}: ${label} of ${limit < 0 ? "unlimited" : limit}` },
    parts.map((p) => {
      const seg = h("span", { class: `seg ${regionColor(p.index)}`, title: `${p.region}: ${p.value}` });
      seg.style.width = `${p.percent}%`;
      return seg;
    }));
  if (limit > 0 && limit < scale) node.classList.add("over");
  return node;
}

function limitCell(resource, limit, admin) {
  if (!admin) return limit < 0 ? "unlimited" : String(limit);
  return h("input", { type: "number", min: -1, step: 1, name: resource, value: limit, class: "limit-input",
    "aria-label": `Global limit of ${resource}`, dataset: { original: String(limit) } });
}

async function loadAll(p) {
  const [detail, statuses] = await Promise.allSettled([
    api.get(`/v1.0/${p}/os-quota-sets/${p}/detail`),
    api.get(`/v1.0/${p}/os-quota-sync-status/${p}`),
  ]);
  return { detail, statuses };
}

export async function render(ctx, mount) {
  const p = encodeURIComponent(ctx.target);
  const admin = ctx.session.is_admin;
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  replace(mount, h("h1", {}, "Quotas"), h("p", { class: "loading" }, "Reading usage from every region…"));
  const { detail, statuses } = await loadAll(p);
  if (detail.status === "rejected") {
    replace(mount, h("h1", {}, "Quotas"), errorBox(detail.reason, "Limits and usage"));
    return;
  }
  const { limits, usage } = detail.value.data.quota_set;
  const unreachable = (detail.value.headers.get("X-Multisite-Unreachable-Regions") || "").split(",").filter(Boolean);
  const regions = statuses.status === "fulfilled" ? statuses.value.data.sync_status : [];
  const resources = Object.keys(limits);

  const rows = resources.map((resource) => {
    const limit = limits[resource];
    const used = usage[resource] || 0;
    const pct = limit > 0 ? Math.round((100 * used) / limit) : null;
    return h("tr", { dataset: { resource } },
      h("th", { scope: "row" }, resource),
      h("td", { class: "num" }, limitCell(resource, limit, admin)),
      h("td", { class: "num", dataset: { usage: resource } }, String(used), pct !== null ? h("span", { class: "muted" }, ` ${pct}%`) : null),
      h("td", { class: "bar-cell" }, bar(resource, limit, regions)));
  });
  const legend = h("ul", { class: "legend", "aria-label": "Regions" },
    regions.map((r, index) => h("li", {}, h("span", { class: `swatch ${regionColor(index)}` }), r.region)));

  const limitsTable = table(["Resource", num(admin ? "Global limit (edit)" : "Global limit"), num("Used"), "Usage per region (last pass)"], rows,
    { className: "grid quotas" });
  let limitsBody = limitsTable;
  if (admin) {
    const save = h("button", { type: "submit", id: "save-limits" }, "Save limits");
    const syncNow = h("button", { type: "button", class: "secondary", id: "sync-now", onclick: () => triggerSync(p, status) }, "Sync now");
    limitsBody = h("form", { id: "limits-form", onsubmit: (event) => saveLimits(event, p, status, ctx) },
      limitsTable, h("div", { class: "actions" }, save, syncNow,
        h("small", { class: "muted" }, "Saving changes the global limits; “Sync now” rebalances every region's limits at once.")));
  }

  const passRows = regions.map((r, index) => h("tr", { dataset: { region: r.region } },
    h("th", { scope: "row" }, h("span", { class: `swatch ${regionColor(index)}` }), r.region),
    h("td", {}, badge(r.status)),
    h("td", {}, when(r.last_sync_at)),
    h("td", { class: "num" }, r.limits ? String(r.limits.cores ?? "—") : "—"),
    h("td", { class: "num" }, r.limits ? String(r.limits.instances ?? "—") : "—"),
    h("td", { class: "error-text" }, r.error || "")));

  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Quotas"),
      h("p", { class: "muted" }, "Global limits of project ", h("code", {}, ctx.target),
        ", usage summed over regions, and how the last rebalance spread them.")),
    status,
    unreachable.length ? notice(`Usage leaves out unreachable regions: ${unreachable.join(", ")}`, "warn") : null,
    statuses.status === "rejected" ? errorBox(statuses.reason, "Rebalance status") : null,
    card("Limits and usage", regions.length ? legend : null, limitsBody),
    card("Last rebalance pass per region", regions.length
      ? table(["Region", "Outcome", "When", num("Cores limit set"), num("Instances limit set"), "Error"], passRows, { className: "grid passes" })
      : emptyState("No rebalance pass has run for this project yet.",
        admin ? "Press “Sync now” to rebalance it across every region now." : "Passes run periodically; an administrator can start one now.")));
}

async function saveLimits(event, p, status, ctx) {
  event.preventDefault();
  const changed = {};
  for (const input of event.target.querySelectorAll("input.limit-input")) {
    if (input.value !== input.dataset.original) {
      const value = Number(input.value);
      if (!Number.isInteger(value) || value < -1) {
        replace(status, notice(`${input.name}: a whole number, -1 for unlimited`, "warn"));
        input.focus();
        return;
      }
      changed[input.name] = value;
    }
  }
  if (!Object.keys(changed).length) {
    replace(status, notice("Nothing changed.", "info"));
    return;
  }
  try {
    const { data } = await api.put(`/v1.0/${p}/os-quota-sets/${p}`, { quota_set: changed });
    const saved = data[ctx.target] || {};
    for (const input of event.target.querySelectorAll("input.limit-input")) {
      if (input.name in saved) { input.value = saved[input.name]; input.dataset.original = String(saved[input.name]); }
    }
    replace(status, notice(`Saved: ${Object.entries(changed).map(([k, v]) => `${k} = ${v}`).join(", ")}`));
  } catch (error) {
    replace(status, errorBox(error, "Limits not saved"));
  }
}

async function triggerSync(p, status) {
  try {
    await api.put(`/v1.0/${p}/os-quota-sets/${p}/sync`);
    replace(status, notice("Sync requested: the engine rebalances every region now. Reload in a few seconds to see the pass.", "info"));
  } catch (error) {
    replace(status, errorBox(error, "Sync not started"));
  }
}
