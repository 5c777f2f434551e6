// Capacity and utilization per region (/v2/capacity), drawn on the Overview for admins:
// one bar per figure, the last known figures of a region that stopped answering marked
// stale with their age (never zeros).
import { h, errorBox, emptyState, table, card } from "../ui.js";

const GIB = 1024 ** 3;
// (kind, label, used field, total field, unit): what each bar shows (docs/regions.md).
export const BARS = [
  ["compute", "vCPU", "vcpus_used", "vcpus", ""],
  ["compute", "RAM", "ram_mb_used", "ram_mb", "MiB"],
  ["compute", "Disk", "disk_gb_used", "disk_gb", "GiB"],
  ["volume", "Volumes", "used_gb", "total_gb", "GiB"],
  ["network", "IPs", "ips_used", "ips_total", ""],
];

export function utilization(figures, usedField, totalField) {
  if (!figures || typeof figures[totalField] !== "number" || typeof figures[usedField] !== "number") return null;
  const total = figures[totalField];
  const used = figures[usedField];
  return { used, total, percent: total > 0 ? Math.min(100, (100 * used) / total) : (used > 0 ? 100 : 0) };
}

function number(value) { return Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(1); }

function utilBar(label, u, unit) {
  const text = `${number(u.used)} / ${number(u.total)}${unit ? ` ${unit}` : ""} (${Math.round(u.percent)} %)`;
  const seg = h("span", { class: "seg" });
  seg.style.width = `${u.percent}%`;
  return h("div", { class: `util${u.percent >= 95 ? " full" : u.percent >= 80 ? " high" : ""}`, dataset: { figure: label } },
    h("div", { class: "bar", role: "img", "aria-label": `${label}: ${text}` }, seg), h("small", {}, text));
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "never read";
  return seconds < 120 ? `${Math.round(seconds)} s old` : seconds < 7200 ? `${Math.round(seconds / 60)} min old` : `${Math.round(seconds / 3600)} h old`;
}

function cell(region, kind, label, usedField, totalField, unit) {
  const entry = region[kind];
  if (!entry) return h("td", { class: "muted" }, "—");
  const u = utilization(entry.figures, usedField, totalField);
  // the error in full in the tooltip; two lines of it in the cell
  const problem = entry.stale || entry.error
    ? h("div", { class: "stale", title: entry.error || "" },
      u ? `stale, ${age(entry.age_seconds)}: ` : "unavailable: ", entry.error || "not answering") : null;
  if (!u) return h("td", { class: "muted", dataset: { kind } }, problem || "not reported");
  return h("td", { dataset: { kind, stale: entry.stale ? "true" : "false" } }, utilBar(label, u, unit), problem);
}

function images(region) {
  const entry = region.image;
  const f = entry && entry.figures;
  if (!f || typeof f.images !== "number") return h("td", { class: "muted" }, "—");
  return h("td", { class: "num" }, `${f.images} (${(f.bytes / GIB).toFixed(1)} GiB)`);
}

export function capacityCard(result) {
  if (result.status === "rejected") return card("Capacity", errorBox(result.reason, "Capacity"));
  const { regions, total } = result.value.data.capacity;
  if (!regions.length) {
    return card("Capacity", emptyState("No capacity collected yet.",
      "The engine reads every region's hypervisor, storage pool, IP and image figures periodically ([health] enabled); they appear here."));
  }
  const head = ["Region", ...BARS.map(([, label]) => label), { text: "Images", num: true }];
  const rows = regions.map((region) => h("tr", { dataset: { region: region.name } },
    h("th", { scope: "row" }, region.name),
    BARS.map(([kind, label, used, totalField, unit]) => cell(region, kind, label, used, totalField, unit)),
    images(region)));
  rows.push(h("tr", { class: "total", dataset: { region: "" } }, h("th", { scope: "row" }, "All regions"),
    BARS.map(([kind, label, used, totalField, unit]) => {
      const u = total[kind] ? utilization(total[kind], used, totalField) : null;
      return u ? h("td", {}, utilBar(label, u, unit), h("small", { class: "muted" }, ` ${total[kind].regions_counted} regions`))
        : h("td", { class: "muted" }, "—");
    }),
    images({ image: total.image ? { figures: total.image } : null })));
  return card("Capacity", table(head, rows, { className: "grid capacity" }));
}
