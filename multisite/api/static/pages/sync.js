// Sync: start keypair/flavor/image copies between regions and follow every row live.
import * as api from "../api.js";
import { h, replace, errorBox, notice, emptyState, badge, when, table, card, field } from "../ui.js";
import { regionNames } from "./overview.js";
import { policiesCard } from "./policies.js";
import { rolloutsCard } from "./rollouts.js";

const POLL_MS = 1500;
const SHOWN = 25;

export function parseNames(text) {
  return [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean))];
}

function syncForm(ctx, regions, onCreated) {
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  const types = ["keypair", "image"].concat(ctx.session.is_admin ? ["flavor"] : []);
  const type = h("select", { name: "resource_type" }, types.map((t) => h("option", { value: t }, t)));
  const resources = h("input", { name: "resources", required: true, placeholder: "name-1, name-2", spellcheck: "false" });
  const source = h("select", { name: "source" }, regions.map((r) => h("option", { value: r }, r)));
  const targets = h("fieldset", { class: "targets" }, h("legend", {}, "Target regions"),
    regions.map((r) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "target", value: r }), r)));
  const force = h("input", { type: "checkbox", name: "force" });
  const syncTargets = () => {
    for (const box of targets.querySelectorAll("input")) {
      box.disabled = box.value === source.value;
      box.checked = !box.disabled;
    }
  };
  source.addEventListener("change", syncTargets);
  syncTargets();
  const submit = h("button", { type: "submit", id: "start-sync" }, "Start sync");
  const form = h("form", { id: "sync-form", class: "sync-form", onsubmit: async (event) => {
    event.preventDefault();
    const chosen = [...targets.querySelectorAll("input:checked")].map((b) => b.value);
    const names = parseNames(resources.value);
    if (!names.length || !chosen.length) {
      replace(status, notice("Name at least one resource and one target region.", "warn"));
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await api.post(`/v1.0/${encodeURIComponent(ctx.target)}/os-sync`, { resource_set: {
        resource_type: type.value, resources: names, source: source.value, target: chosen, force: force.checked } });
      replace(status, notice(`Job ${data.job_status.id} started.`));
      onCreated(data.job_status.id);
    } catch (error) {
      replace(status, errorBox(error, "Sync not started"));
    } finally {
      submit.disabled = false;
    }
  } },
  h("div", { class: "row" }, field("Resource type", type), field("Resources", resources, "Names in the source region, comma separated"),
    field("Source region", source)),
  targets,
  h("label", { class: "check" }, force, "Overwrite what already exists in a target (force)"),
  h("div", { class: "actions" }, submit), status);
  return form;
}

function rowsTable(rows) {
  if (!rows.length) return emptyState("This job has no rows.", "");
  return table(["Resource", "Type", "From", "To", "Status", "Error"], rows.map((r) =>
    h("tr", { dataset: { row: r.id, status: r.sync_status } },
      h("td", {}, r.resource), h("td", {}, r.resource_type), h("td", {}, r.source_region),
      h("td", {}, r.target_region), h("td", {}, badge(r.sync_status)),
      h("td", { class: "error-text" }, r.error || ""))), { className: "grid rows" });
}

export async function render(ctx, mount) {
  const p = encodeURIComponent(ctx.target);
  const open = new Set();
  let allProjects = false;
  let timer = null;
  let stopped = false;
  const listBox = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Loading jobs…"));
  const problems = h("div");

  // the regions (for the forms) are asked at the same time as the lists, not before them
  const statuses = api.get(`/v1.0/${p}/os-quota-sync-status/${p}`)
    .then((answer) => answer.data.sync_status, () => []); // catalog only

  const scope = () => (allProjects ? "?all_projects=true" : "");
  async function refresh() {
    if (stopped) return;
    clearTimeout(timer);
    try {
      const jobs = (await api.get(`/v1.0/${p}/os-sync${scope()}`)).data.job_set.slice(-SHOWN).reverse();
      const details = {};
      await Promise.all([...open].map(async (id) => {
        try {
          const rows = (await api.get(`/v1.0/${p}/os-sync/${id}?verbose=true${allProjects ? "&all_projects=true" : ""}`)).data.job_set;
          details[id] = rowsTable(rows);
        } catch (error) {
          details[id] = errorBox(error, "Rows");
        }
      }));
      if (stopped) return;
      replace(problems);
      replace(listBox, jobs.length ? jobsTable(jobs, details) : emptyState("No sync jobs yet.",
        "Copy a keypair, image or flavor from one region to the others with the form above; its rows appear here and update live."));
      if (jobs.some((j) => j.sync_status === "IN_PROGRESS")) timer = setTimeout(refresh, POLL_MS);
    } catch (error) {
      replace(problems, errorBox(error, "Sync jobs"));
      timer = setTimeout(refresh, POLL_MS * 4);
    }
  }

  function jobsTable(jobs, details) {
    const body = [];
    for (const job of jobs) {
      const expanded = open.has(job.id);
      body.push(h("tr", { dataset: { job: job.id, status: job.sync_status } },
        h("td", {}, h("button", { type: "button", class: "link", "aria-expanded": String(expanded),
          onclick: () => { if (open.has(job.id)) open.delete(job.id); else open.add(job.id); refresh(); } },
        expanded ? "▾ " : "▸ ", h("code", {}, job.id))),
        allProjects ? h("td", {}, h("code", {}, job.project_id || "")) : null,
        h("td", {}, badge(job.sync_status)), h("td", {}, when(job.created_at)), h("td", {}, when(job.updated_at)),
        h("td", {}, job.sync_status === "IN_PROGRESS" ? null : h("button", { type: "button", class: "secondary small",
          "aria-label": `Delete job ${job.id}`, onclick: () => removeJob(job.id) }, "Delete"))));
      if (expanded) body.push(h("tr", { class: "detail" }, h("td", { colspan: allProjects ? 6 : 5 }, details[job.id])));
    }
    return table(["Job", allProjects ? "Project" : null, "Status", "Created", "Updated", ""].filter((x) => x !== null), body,
      { className: "grid jobs" });
  }

  async function removeJob(id) {
    try {
      await api.del(`/v1.0/${p}/os-sync/${id}`);
      open.delete(id);
    } catch (error) {
      replace(problems, errorBox(error, "Job not deleted"));
      return;
    }
    refresh();
  }

  const policies = policiesCard(ctx);
  const rollouts = rolloutsCard(ctx);
  const loaded = Promise.all([refresh(), policies.load(), rollouts.load()]);
  const regions = regionNames(ctx.session, await statuses);
  rollouts.withRegions(regions);
  const toggle = ctx.session.is_admin ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "all-projects",
    onchange: (event) => { allProjects = event.target.checked; refresh(); } }), "All projects") : null;
  replace(mount,
    h("div", { class: "page-head" }, h("h1", {}, "Sync"),
      h("p", { class: "muted" }, "Copy keypairs, images and flavors of project ", h("code", {}, ctx.target), " between regions.")),
    card("New sync job", regions.length ? syncForm(ctx, regions, (id) => { open.add(id); refresh(); })
      : emptyState("No regions known.", "Regions come from your token's catalog; without them there is nowhere to copy to.")),
    h("section", { class: "card", "aria-label": "Jobs" }, h("div", { class: "card-head" }, h("h2", {}, "Jobs"), toggle), problems, listBox),
    policies.section, rollouts.section);
  await loaded;
  return () => { stopped = true; clearTimeout(timer); rollouts.stop(); };
}
