// Image rollouts (/v2/image-rollouts, docs/images.md): start one, follow it wave by wave
// (each region's state), promote, abort or roll back. Shown on the Sync page.
import * as api from "../api.js";
import { h, replace, errorBox, notice, emptyState, when, field } from "../ui.js";

const SHOWN = 25;
const POLL_MS = 2000;
// rollout: running, waiting, rolling_back, succeeded, rolled_back
const ROLLOUT = { succeeded: "ok", running: "busy", waiting: "busy", rolling_back: "bad", rolled_back: "bad" };
// wave: pending, in_progress, done, rolled_back; region: pending, copying, switching, switched, rolled_back
const STEP = { done: "ok", switched: "ok", in_progress: "busy", copying: "busy", switching: "busy", rolled_back: "bad" };
const LIVE = new Set(["running", "waiting", "rolling_back"]);
// action: the rollout states it applies to (the API refuses it in any other)
const ACTIONS = [
  ["promote", "Promote", ["waiting"]],
  ["abort", "Abort", ["running", "waiting"]],
  ["rollback", "Roll back", ["running", "waiting", "succeeded"]],
];

function stateBadge(state, kinds) {
  return h("span", { class: `badge ${kinds[state] || "none"}` }, (state || "—").replace("_", " "));
}

// "RegionTwo; RegionThree, RegionFour" -> [["RegionTwo"], ["RegionThree", "RegionFour"]]
export function parseWaves(text) {
  return text.split(/[;\n]+/).map((wave) => [...new Set(wave.split(/[\s,]+/).filter(Boolean))])
    .filter((wave) => wave.length);
}

function waveList(rollout) {
  return h("ol", { class: "waves" }, rollout.waves.map((wave, index) =>
    h("li", { class: "wave", dataset: { wave: String(index + 1), state: wave.state } },
      h("div", { class: "wave-head" }, h("strong", {}, index === 0 ? "Wave 1 (canary)" : `Wave ${index + 1}`),
        stateBadge(wave.state, STEP)),
      h("ul", { class: "wave-regions" }, wave.regions.map((r) =>
        h("li", { dataset: { region: r.region, state: r.state } }, r.region, " ", stateBadge(r.state, STEP),
          r.reason ? h("div", { class: "error-text" }, r.reason) : null))))));
}

function createdFirst(a, b) { return String(b.created_at || "").localeCompare(String(a.created_at || "")); }

export function rolloutsCard(ctx) {
  const p = ctx.target;
  const box = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Loading image rollouts…"));
  const status = h("div", { class: "form-status", "aria-live": "polite" });
  let allProjects = false;
  let timer = null;
  let stopped = false;

  async function load() {
    if (stopped) return;
    clearTimeout(timer);
    const params = api.scopeParams({ own: ctx.own, target: p, allProjects }, SHOWN);
    let listed;
    try {
      listed = (await api.get(`/v2/image-rollouts?${params}`)).data;
    } catch (error) {
      if (!stopped) replace(box, errorBox(error, "Image rollouts"));
      return;
    }
    if (stopped) return;
    const rollouts = listed.image_rollouts.slice().sort(createdFirst);
    replace(box, rollouts.length ? rollouts.map(rolloutBlock) : emptyState("No image rollouts.",
      "A rollout copies a new image version to regions wave by wave, verifies it and switches its name there: "
      + "start one with `multisite image rollout start` or, in your own project, with the form above."),
    listed.links && listed.links.some((l) => l.rel === "next")
      ? h("p", { class: "muted footnote" }, `${SHOWN} rollouts are shown; the CLI lists them all.`) : null);
    if (rollouts.some((r) => LIVE.has(r.state))) timer = setTimeout(load, POLL_MS);
  }

  async function act(rollout, action, label, button) {
    button.disabled = true;
    try {
      await api.post(`/v2/image-rollouts/${encodeURIComponent(rollout.id)}/${action}`, {});
      replace(status, notice(`${label}: rollout ${rollout.id} is now being acted on.`));
    } catch (error) {
      replace(status, errorBox(error, `${label} refused`));
    }
    await load();
  }

  function rolloutBlock(rollout) {
    const buttons = ACTIONS.filter(([, , states]) => states.includes(rollout.state)).map(([action, label]) =>
      h("button", { type: "button", class: action === "promote" ? "small" : "secondary small",
        "aria-label": `${label} rollout ${rollout.id}`,
        onclick: (event) => act(rollout, action, label, event.currentTarget) }, label));
    const why = rollout.paused_reason || rollout.reason;
    return h("div", { class: "rollout", dataset: { rollout: rollout.id, state: rollout.state } },
      h("div", { class: "policy-head" },
        h("strong", {}, "image "), h("code", {}, rollout.image_id),
        h("span", { class: "muted" }, ` from ${rollout.source}, ${rollout.waves.length} wave(s)`,
          rollout.manual_promote ? ", promoted by hand" : "", rollout.pause ? `, ${rollout.pause} s between waves` : "",
          ", started ", when(rollout.created_at)),
        allProjects ? h("code", { class: "muted" }, ` ${rollout.project_id}`) : null,
        stateBadge(rollout.state, ROLLOUT), buttons),
      why ? h("p", { class: rollout.paused_reason || ROLLOUT[rollout.state] === "bad" ? "error-text" : "muted" }, why) : null,
      waveList(rollout));
  }

  function startForm(regions) {
    const image = h("input", { name: "image_id", required: true, placeholder: "image UUID in the source region", spellcheck: "false" });
    const source = h("select", { name: "rollout_source" }, regions.map((r) => h("option", { value: r }, r)));
    const waves = h("input", { name: "waves", required: true, spellcheck: "false",
      value: regions.slice(1).join("; "), placeholder: "RegionTwo; RegionThree, RegionFour" });
    const manual = h("input", { type: "checkbox", name: "manual_promote" });
    const submit = h("button", { type: "submit", id: "start-rollout" }, "Start rollout");
    return h("form", { id: "rollout-form", class: "sync-form", onsubmit: async (event) => {
      event.preventDefault();
      const spec = { image_id: image.value.trim(), source: source.value, waves: parseWaves(waves.value),
        manual_promote: manual.checked };
      if (!spec.image_id || !spec.waves.length) {
        replace(status, notice("Give the image id and at least one wave of regions.", "warn"));
        return;
      }
      submit.disabled = true;
      try {
        const { data } = await api.post("/v2/image-rollouts", { image_rollout: spec });
        replace(status, notice(`Rollout ${data.image_rollout.id} started.`));
        await load();
      } catch (error) {
        replace(status, errorBox(error, "Rollout not started"));
      } finally {
        submit.disabled = false;
      }
    } },
    h("div", { class: "row rollout-row" }, field("Rollout source", source), field("Image id", image),
      field("Waves", waves, "Regions of one wave comma separated, waves separated by “;”; the first wave is the canary")),
    h("label", { class: "check" }, manual, "Wait for “Promote” after each wave"),
    h("div", { class: "actions" }, submit));
  }

  const toggle = ctx.session.is_admin ? h("label", { class: "check" }, h("input", { type: "checkbox", id: "rollouts-all-projects",
    onchange: (event) => { allProjects = event.target.checked; load(); } }), "All projects") : null;
  const formSlot = h("div");
  const section = h("section", { class: "card", "aria-label": "Image rollouts" },
    h("div", { class: "card-head" }, h("h2", {}, "Image rollouts"), toggle), formSlot, status, box);
  // The start form needs the regions, which the page learns while the list loads; a
  // rollout starts in the token's own project only.
  const withRegions = (regions) => replace(formSlot, ctx.own && regions.length > 1 ? startForm(regions) : null);
  return { section, load, withRegions, stop: () => { stopped = true; clearTimeout(timer); } };
}
