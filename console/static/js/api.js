// The API client: same origin, bearer token held in sessionStorage (this tab only, never a cookie).
const KEY = "fieldtrace.session";
let session = JSON.parse(sessionStorage.getItem(KEY) || "null");
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.reason = error.reason;
    this.fields = error.fields || {};
    this.body = body;
  }
}

export const base = "/api/v1";
export function current() { return session; }
export function onAuthChange(fn) { listeners.add(fn); }

export async function login(username, password) {
  const body = await request("POST", "/auth/token", { json: { username, password }, anonymous: true });
  session = { token: body.access_token, role: body.role, expires_at: body.expires_at, username };
  const me = await request("GET", "/me");
  session.name = me.name;
  session.user_id = me.id;
  sessionStorage.setItem(KEY, JSON.stringify(session));
  listeners.forEach((fn) => fn(session));
  return session;
}

export function logout() {
  session = null;
  sessionStorage.removeItem(KEY);
  listeners.forEach((fn) => fn(null));
}

// signal: an AbortController's, to drop a request a newer one replaces (fetch rejects with an AbortError).
export async function request(method, path, { json, form, query, anonymous, raw, signal } = {}) {
  const headers = {};
  if (!anonymous && session) headers.Authorization = `Bearer ${session.token}`;
  let body;
  if (json !== undefined) { headers["Content-Type"] = "application/json"; body = JSON.stringify(json); }
  if (form !== undefined) body = form;
  let url = base + path;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    if ([...params].length) url += (url.includes("?") ? "&" : "?") + params;
  }
  const response = await fetch(url, { method, headers, body, credentials: "omit", cache: "no-store", signal });
  if (response.status === 401 && !anonymous) { logout(); throw new ApiError(401, await safeJson(response)); }
  if (raw) { if (!response.ok) throw new ApiError(response.status, await safeJson(response)); return response; }
  const data = await safeJson(response);
  if (!response.ok) throw new ApiError(response.status, data);
  data && typeof data === "object" && Object.defineProperty(data, "_status", { value: response.status });
  return data;
}

async function safeJson(response) {
  const text = await response.text();
  try { return text ? JSON.parse(text) : null; } catch { return { error: { message: text.slice(0, 200) } }; }
}

export const get = (path, query, signal) => request("GET", path, { query, signal });
export const post = (path, json) => request("POST", path, { json: json ?? {} });

// Lists answer {items,total,page,page_size}; a few older ones still answer a bare array.
export function items(body) { return Array.isArray(body) ? body : (body && body.items) || []; }

// Every page of a list, up to limit rows: its items, or the features of a paged FeatureCollection
// (`GET /visits.geojson` pages the same way, with total/page/page_size beside features).
// Pages are offsets into a set that may change while they are read (a visit closes): a row that moves to a
// later page comes twice, and is kept once (by id). The array carries `total` (the last page's) and
// `truncated` (true when the limit cut the list short) for a screen that must say so.
export async function allPages(path, query = {}, limit = 2000, { signal } = {}) {
  const out = [];
  const seen = new Set();
  let total = 0;
  for (let page = 1; out.length < limit; page++) {
    const body = await get(path, { ...query, page, page_size: 500 }, signal);
    if (Array.isArray(body)) return body;
    const rows = body.items || body.features || [];
    total = body.total;
    for (const row of rows) {
      const id = row && row.id;
      if (id !== undefined && id !== null) { if (seen.has(id)) continue; seen.add(id); }
      if (out.length < limit) out.push(row);
    }
    if (out.length >= total || !rows.length || page * 500 >= total) break;
  }
  Object.defineProperties(out, { total: { value: total }, truncated: { value: out.length < total && out.length >= limit } });
  return out;
}
