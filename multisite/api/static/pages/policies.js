// Sync policies (/v2/sync-policies): each policy, the state of each of its targets as
// the engine's last audit found it, and "Audit now". Shown on the Sync page.
import * as api from "../api.js";
import { h, replace, errorBox, notice, emptyState, when, table } from "../ui.js";

const SHOWN = 25;
// A target's state (docs/sync-jobs.md): in_sync, missing, drifted, conflict, failed.
const STATE = { in_sync: "ok", missing: "busy", drifted: "busy", conflict: "bad", failed: "bad" };

export function stateBadge(state) {
  return h("span", { class: `badge ${STATE[state] || "none"}` }, state ? state.replace("_", " ") : "not audited");
}

function listText(value) { return Array.isArray(value) ? value.join(", ") : value; }

function targetsTable(policy) {
  const states = policy.targets_state || [];
  if (!states.length) {
    return emptyState("Not audited yet.", "The engine audits every policy periodically; “Audit now” runs one at once.");
  }
  return table(["Target", "State", "Detail", "Audited", "Repaired"], states.map((t) =>
    h("tr", { dataset: { target: t.region, state: t.state } },
      h("th", { scope: "row" }, t.region), h("td", {}, stateBadge(t.state)),
      h("td", { class: t.state === "in_sync" ? "" : "error-text" }, (t.detail || [])
        .filter((d) => d.state !== "in_sync")
        .map((d) => h("div", {}, h("code", {}, d.resource), `: ${d.state.replace("_", " ")}`, d.detail ? ` (${d.detail})` : ""))),
      h("td", {}, when(t.audited_at)), h("td", {}, when(t.repaired_at)))), { className: "grid targets-state" });
}

function worst(policy) {
  const order = ["failed", "conflict", "drifted", "missing", "in_sync"];
  const states = (policy.targets_state || []).map((t) => t.state);
  return order.find((s) => states.includes(s)) || null;
}

export function policiesCard(ctx) {
  const p = ctx.target;
  const box = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Loading policies…"));
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  let allProjects = false;

  async function load() {
    const params = api.scopeParams({ own: ctx.own, target: p, allProjects }, SHOWN);
    let listed;
    try {
      listed = (await api.get(`/v2/sync-policies?${params}`)).data;
    } catch (error) {
      replace(box, errorBox(error, "Sync policies"));
      return;
    }
    const shown = await Promise.all(listed.sync_policies.map(async (policy) => {
      try { return (await api.get(`/v2/sync-policies/${encodeURIComponent(policy.id)}`)).data.sync_policy; } catch { return policy; }
    }));
    replace(box, shown.length ? shown.map(policyBlock) : emptyState("No sync policies.",
      "A policy keeps keypairs or security groups converged from a source region: "
      + "`multisite sync policy create` or POST /v2/sync-policies; its targets' states appear here."),
    listed.links && listed.links.some((l) => l.rel === "next")
      ? h("p", { class: "muted footnote" }, `The first ${SHOWN} policies are shown; the CLI lists them all.`) : null);
  }

  async function auditNow(policy, button) {
    button.disabled = true;
    replace(status, notice(`Auditing policy ${policy.id}…`, "info"));
    try {
      await api.post(`/v2/sync-policies/${encodeURIComponent(policy.id)}/audit`);
      replace(status, notice(`Policy ${policy.id} audited.`));
      await load();
    } catch (error) {
      replace(status, errorBox(error, "Audit not run"));
      button.disabled = false;
    }
  }

  function policyBlock(policy) {
    const audit = h("button", { type: "button", class: "secondary small", "aria-label": `Audit policy ${policy.id} now`,
      onclick: (event) => auditNow(policy, event.currentTarget) }, "Audit now");
    return h("div", { class: "policy", dataset: { policy: policy.id, state: worst(policy) || "" } },
      h("div", { class: "policy-head" },
        h("strong", {}, policy.resource_type), " ", h("span", {}, listText(policy.resources)),
        h("span", { class: "muted" }, ` from ${policy.source} to ${listText(policy.targets)}, ${policy.on_drift}`,
          policy.propagate_deletes ? ", deletes propagated" : ""),
        allProjects ? h("code", { class: "muted" }, ` ${policy.project_id}`) : null,
        stateBadge(worst(policy)), audit),
      targetsTable(policy));
  }

  const toggle = ctx.session.is_admin ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "policies-all-projects",
    onchange: (event) => { allProjects = event.target.checked; load(); } }), "All projects") : null;
  const section = h("section", { class: "card", "aria-label": "Sync policies" },
    h("div", { class: "card-head" }, h("h2", {}, "Sync policies"), toggle), status, box);
  return { section, load };
}
