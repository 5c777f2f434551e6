// Small DOM helpers: elements are built, never parsed from strings (no innerHTML).

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(name, "");
    else node.setAttribute(name, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// An API error as operators need it: what went wrong, its code and the request id to grep.
export function errorBox(error, what) {
  return h("div", { class: "alert error", role: "alert" },
    h("strong", {}, what ? `${what}: ` : "", error.message),
    h("div", { class: "meta" },
      error.status ? `HTTP ${error.status}` : null,
      error.code ? h("code", {}, error.code) : null,
      error.requestId ? h("span", {}, "request ", h("code", { class: "request-id" }, error.requestId)) : null));
}

export function notice(text, kind = "ok") {
  return h("div", { class: `alert ${kind}`, role: "status" }, text);
}

export function emptyState(title, next) {
  return h("div", { class: "empty" }, h("strong", {}, title), h("p", {}, next));
}

export function badge(status) {
  const kind = { SUCCESS: "ok", FAILURE: "bad", IN_PROGRESS: "busy", QUEUED: "busy" }[status] || "none";
  return h("span", { class: `badge ${kind}` }, status || "—");
}

export function when(iso) {
  if (!iso) return "—";
  // Kingbird's times are UTC without a zone ("2026-01-02 03:04:05.678901").
  const utc = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(iso) ? `${iso.replace(" ", "T").slice(0, 23)}Z` : iso;
  const date = new Date(utc);
  if (Number.isNaN(date.getTime())) return iso;
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  const ago = seconds < 60 ? `${Math.max(seconds, 0)} s ago`
    : seconds < 3600 ? `${Math.round(seconds / 60)} min ago`
      : seconds < 86400 ? `${Math.round(seconds / 3600)} h ago` : `${Math.round(seconds / 86400)} d ago`;
  return h("time", { datetime: iso, title: date.toISOString() }, ago);
}

// A heading is its text, or num(text) for a column of numbers: the heading then aligns
// right over its figures (cells of class "num").
export function num(text) { return { text, num: true }; }

export function table(headings, rows, { caption, className } = {}) {
  return h("table", { class: className || "grid" },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, headings.map((heading) => (heading && heading.num
      ? h("th", { scope: "col", class: "num" }, heading.text)
      : h("th", { scope: "col" }, heading))))),
    h("tbody", {}, rows));
}

export function card(title, ...children) {
  return h("section", { class: "card", "aria-label": title }, h("h2", {}, title), children);
}

export const REGION_COLORS = 8;
export function regionColor(index) { return `c${index % REGION_COLORS}`; }

export function field(label, input, help) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h("div", { class: "field" }, h("label", { for: id }, label), input,
    help ? h("small", {}, help) : null);
}
