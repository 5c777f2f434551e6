// The dashboard's only way to the server: the public Multisite API, same origin.
const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;

export const API_ROOT = meta("multisite-api");
export const AUTH = meta("multisite-auth");
const NOAUTH_KEY = "multisite.noauth.identity";

export class ApiError extends Error {
  constructor(status, code, message, requestId) {
    super(message);
    this.status = status;
    this.code = code;
    this.requestId = requestId;
  }
}

// Per tab: the CSRF token of a cookie session (memory only) or the noauth identity
// (sessionStorage: no secret, only the headers noauth trusts anyway).
const state = { csrf: null };

export function setCsrf(token) { state.csrf = token; }

export function noauthIdentity() {
  const raw = sessionStorage.getItem(NOAUTH_KEY);
  return raw ? JSON.parse(raw) : null;
}

export function setNoauthIdentity(identity) {
  if (identity) sessionStorage.setItem(NOAUTH_KEY, JSON.stringify(identity));
  else sessionStorage.removeItem(NOAUTH_KEY);
}

let onUnauthenticated = () => {};
export function whenUnauthenticated(callback) { onUnauthenticated = callback; }

export async function request(method, path, body, { quiet401 = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const identity = AUTH === "noauth" ? noauthIdentity() : null;
  if (identity) {
    headers["X-Project-Id"] = identity.project_id;
    headers["X-User-Id"] = identity.user_id;
    headers["X-Roles"] = identity.roles;
  }
  let response;
  try {
    response = await fetch(API_ROOT + path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (exc) {
    throw new ApiError(0, "network", `The Multisite API did not answer (${exc.message})`, null);
  }
  const requestId = response.headers.get("x-openstack-request-id");
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = text; }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const failure = new ApiError(response.status, error.code || `http.${response.status}`,
      error.message || response.statusText || "Request failed", requestId);
    if (response.status === 401 && !quiet401 && path !== "/auth/session") onUnauthenticated(failure);
    throw failure;
  }
  return { data, headers: response.headers, requestId };
}

// The query of a /v2 list: its page size, then the project scope (every project, the
// project viewed when it is not the token's own, else the token's project).
export function scopeParams({ own, target, allProjects }, limit) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (allProjects) params.set("all_projects", "true");
  else if (!own) params.set("project_id", target);
  return params;
}

export const get = (path, options) => request("GET", path, undefined, options);
export const put = (path, body) => request("PUT", path, body);
export const post = (path, body) => request("POST", path, body);
export const del = (path) => request("DELETE", path);
