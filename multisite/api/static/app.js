// Boot, login, navigation and the project switcher of the Multisite dashboard.
import * as api from "./api.js";
import { h, replace, errorBox, notice, field } from "./ui.js";
import * as overview from "./pages/overview.js";
import * as quotas from "./pages/quotas.js";
import * as sync from "./pages/sync.js";
import * as events from "./pages/events.js";
import * as addresses from "./pages/addresses.js";

const PAGES = { overview, quotas, sync, events, addresses };
const main = document.getElementById("main");
const nav = document.getElementById("nav");
const identityBox = document.getElementById("identity");
let session = null;
let stopPage = () => {};
let current = { page: "overview", params: new URLSearchParams() };

function route() {
  if (location.hash && !location.hash.startsWith("#/")) return { page: current.page, params: current.params };
  const [path, query] = (location.hash.replace(/^#\/?/, "") || "overview").split("?");
  const params = new URLSearchParams(query || "");
  return { page: PAGES[path] ? path : "overview", params };
}

function targetProject(params) {
  const wanted = params.get("project");
  return session.is_admin && wanted ? wanted : session.project.id;
}

function go(page, project) {
  const query = project && project !== session.project.id ? `?project=${encodeURIComponent(project)}` : "";
  location.hash = `#/${page}${query}`;
}

// Each render has a number; a render overtaken by a newer one (the user moved on while
// its data was on the way) stops its page at once and touches nothing shared.
let generation = 0;

async function render() {
  if (!session) return;
  const mine = ++generation;
  stopPage();
  stopPage = () => {};
  const { page, params } = route();
  current = { page, params };
  const target = targetProject(params);
  for (const link of nav.querySelectorAll("a")) {
    const isCurrent = link.dataset.page === page;
    link.classList.toggle("active", isCurrent);
    if (isCurrent) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
    link.href = `#/${link.dataset.page}` + (target !== session.project.id ? `?project=${encodeURIComponent(target)}` : "");
  }
  renderIdentity(target);
  const mount = h("div", { class: "page" });
  replace(main, mount);
  // Where the focus was when the page was asked for: the heading takes it only if the
  // user has not moved it since (a page renders after its data arrives, and a keyboard
  // user may be tabbing through the nav meanwhile).
  const asked = document.activeElement;
  const ctx = { session, target, own: target === session.project.id, go: (p) => go(p, target) };
  const stop = await PAGES[page].render(ctx, mount);
  if (mine !== generation) {
    if (typeof stop === "function") stop();
    return;
  }
  stopPage = typeof stop === "function" ? stop : () => {};
  // when the page stood with its data (bench/dashboard_load.py reads it; so can any
  // real-user timing): from navigation start, without a test driver's own delays
  performance.mark("multisite:page-rendered", { detail: page });
  const heading = mount.querySelector("h1");
  const focused = document.activeElement;
  if (heading && (focused === asked || !focused || focused === document.body)) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
}

function renderIdentity(target) {
  const who = h("span", { class: "who" },
    h("strong", {}, session.user.name || session.user.id || "anonymous"), " in ",
    h("strong", {}, session.project.name || session.project.id),
    h("span", { class: "roles" }, session.roles.join(", ")));
  let switcher = null;
  if (session.is_admin) {
    const input = h("input", { name: "project", id: "project-switch", value: target, size: 34,
      spellcheck: "false", "aria-label": "Project id to view", placeholder: "project id" });
    switcher = h("form", { class: "switcher", onsubmit: (event) => {
      event.preventDefault();
      go(route().page, input.value.trim() || session.project.id);
    } }, input, h("button", { type: "submit", class: "secondary" }, "View project"));
  }
  const logout = h("button", { type: "button", class: "secondary", id: "logout", onclick: logOut },
    session.auth_strategy === "noauth" ? "Change identity" : "Log out");
  replace(identityBox, switcher, who, logout);
  identityBox.hidden = false;
  nav.hidden = false;
}

async function logOut() {
  if (session && session.auth_strategy === "keystone") {
    try { await api.del("/auth/session"); } catch (error) { /* the cookie expires anyway */ }
  }
  api.setNoauthIdentity(null);
  api.setCsrf(null);
  showLogin(notice("You are logged out."));
}

function started(newSession) {
  session = newSession;
  api.setCsrf(session.csrf_token);
  render();
}

function showLogin(message) {
  generation++;
  stopPage();
  stopPage = () => {};
  session = null;
  nav.hidden = true;
  identityBox.hidden = true;
  replace(identityBox);
  replace(main, api.AUTH === "noauth" ? noauthForm(message) : loginForm(message));
  const first = main.querySelector("input");
  if (first) first.focus();
}

function loginForm(message) {
  const status = h("div", { class: "form-status", "aria-live": "polite" }, message);
  const inputs = {
    username: h("input", { name: "username", autocomplete: "username", required: true }),
    password: h("input", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    project: h("input", { name: "project", required: true }),
    domain: h("input", { name: "domain", value: "Default", required: true }),
  };
  const submit = h("button", { type: "submit" }, "Log in");
  const form = h("form", { class: "login card", onsubmit: async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(status, notice("Asking Keystone…", "info"));
    try {
      const body = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, v.value.trim()]));
      body.password = inputs.password.value;
      const { data } = await api.post("/auth/session", { session: body });
      started(data.session);
    } catch (error) {
      replace(status, errorBox(error, "Login failed"));
      inputs.password.value = "";
      inputs.password.focus();
    } finally {
      submit.disabled = false;
    }
  } },
  h("h1", {}, "Log in to Multisite"),
  h("p", { class: "hint" }, "Your Keystone credentials. The token stays in an HttpOnly cookie and ends with the token."),
  status,
  field("User name", inputs.username),
  field("Password", inputs.password),
  field("Project", inputs.project, "Name of the project to work in"),
  field("Domain", inputs.domain),
  submit);
  return h("div", { class: "center" }, form);
}

function noauthForm(message) {
  const saved = api.noauthIdentity() || {};
  const project = h("input", { name: "project_id", required: true, value: saved.project_id || "",
    pattern: "[0-9a-fA-F\\-]{32,36}", spellcheck: "false" });
  const user = h("input", { name: "user_id", value: saved.user_id || "dashboard" });
  const role = h("select", { name: "roles" },
    ["admin", "member", "reader"].map((r) => h("option", { value: r, selected: saved.roles === r }, r)));
  const status = h("div", { class: "form-status", "aria-live": "polite" }, message);
  const form = h("form", { class: "login card", onsubmit: async (event) => {
    event.preventDefault();
    api.setNoauthIdentity({ project_id: project.value.trim(), user_id: user.value.trim() || "dashboard", roles: role.value });
    try {
      started((await api.get("/auth/session")).data.session);
    } catch (error) {
      replace(status, errorBox(error, "Could not start"));
    }
  } },
  h("h1", {}, "Choose an identity"),
  h("p", { class: "hint" }, "This API runs with auth_strategy = noauth: it trusts the project and role you pick here."),
  status,
  field("Project id", project, "A project UUID (32 hex digits)"),
  field("User id", user),
  field("Role", role),
  h("button", { type: "submit" }, "Continue"));
  return h("div", { class: "center" }, form);
}

async function boot() {
  document.getElementById("noauth-banner").hidden = api.AUTH !== "noauth";
  api.whenUnauthenticated(() => showLogin(notice("Your session has ended: log in again.", "warn")));
  window.addEventListener("hashchange", render);
  // The skip link moves focus only; as a hash it would be taken for a page route.
  document.querySelector("a.skip").addEventListener("click", (event) => {
    event.preventDefault();
    main.focus();
  });
  if (api.AUTH === "noauth" && !api.noauthIdentity()) return showLogin();
  try {
    started((await api.get("/auth/session", { quiet401: true })).data.session);
  } catch (error) {
    showLogin(error.status === 401 ? null : errorBox(error, "Could not reach the API"));
  }
}

boot();
