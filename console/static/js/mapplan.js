// Map & plan (dispatchers, supervisors): open visits by kind and urgency, hazards, filters, box
// select, a visit's masked case summary; plan a day, watch the job, routes with numbered stops and
// ETAs, unassigned visits with reasons, move a stop to another collector, pin a visit to a collector,
// approve outsourced visits.
import * as api from "./api.js";
import { L, createMap, showExtent, toMap } from "./basemap.js";
import { append, clear, h, problem, toast } from "./dom.js";
import { clock, dateTime, hours, km, tomorrow, withDebtorTime } from "./fmt.js";
import { t, tcode, tv } from "./i18n.js";
import { PIN, loadPins, pinControls, pinText } from "./pins.js";

const KIND_COLOURS = { confirm: "#2563eb", locate: "#7c3aed", broken_promise: "#ea580c" };
const ROUTE_COLOURS = ["#e11d48", "#0891b2", "#16a34a", "#9333ea", "#ca8a04", "#db2777", "#0d9488", "#4f46e5",
  "#65a30d", "#c2410c", "#0284c7", "#7e22ce"];
const OPEN = new Set(["requested", "scheduled", "needs_approval", "assigned", "in_progress"]);
const LIMIT = 20000;  // visits the map reads at most (40 pages of 500); past it the panel says so

export async function render(root) {
  // fetched: the server's answer to kind and status (features, district per visit id), kept so that a
  // district or "overdue" change re-filters it here; visits: what is drawn.
  const s = { fetched: { features: [], districts: new Map() }, visits: [], routes: [], collectors: new Map(), users: new Map(), pins: new Map(), selected: new Set(),
    unassigned: [], boxMode: false };
  const panel = h("aside", { class: "panel" });
  const mapBox = h("div", { class: "map", id: "map" });
  append(clear(root), h("div", { class: "split" }, panel, mapBox));
  const map = await createMap(mapBox);
  const visitLayer = L.layerGroup().addTo(map);
  const routeLayer = L.layerGroup().addTo(map);

  // --- side panel
  const kindSel = h("select", { name: "kind" }, h("option", { value: "" }, t("all")),
    ...["confirm", "locate", "broken_promise"].map((k) => h("option", { value: k }, tv(k))));
  const statusSel = h("select", { name: "status" }, h("option", { value: "" }, t("open_visits")),
    ...[...OPEN].map((k) => h("option", { value: k }, tv(k))));
  const districtSel = h("select", { name: "district" }, h("option", { value: "" }, t("all")));
  const overdueOnly = h("input", { type: "checkbox", name: "overdue" });
  const dateIn = h("input", { type: "date", name: "date", value: tomorrow() });
  const collectorBox = h("div", { class: "checklist", id: "collectors" });
  const planBtn = h("button", { type: "button", id: "plan", class: "primary" }, t("plan"));
  const boxBtn = h("button", { type: "button", id: "box-select" }, t("select_box"));
  const progress = h("progress", { id: "plan-progress", max: 1, value: 0, hidden: true });
  const progressText = h("span", { class: "muted", id: "plan-progress-text" });
  const selectedBox = h("div", { id: "selection" });
  const routeList = h("div", { id: "route-list" });
  const unassignedList = h("div", { id: "unassigned" });
  const approvals = h("div", { id: "approvals" });
  const summary = h("div", { id: "visit-summary" });
  const cutNotice = h("p", { id: "visits-cut", class: "error", hidden: true });
  append(panel,
    h("section", {}, h("h3", {}, t("filter")),
      h("label", {}, t("kind"), " ", kindSel), h("label", {}, t("status"), " ", statusSel),
      h("label", {}, t("district"), " ", districtSel),
      h("label", {}, overdueOnly, " ", t("overdue")), cutNotice, legend()),
    h("section", {}, h("h3", {}, t("plan")), h("label", {}, t("date"), " ", dateIn),
      h("details", {}, h("summary", {}, t("collectors")), collectorBox),
      h("div", { class: "row" }, planBtn, boxBtn), progress, progressText, selectedBox),
    summary,
    h("section", {}, h("h3", {}, t("routes")), routeList),
    h("section", {}, h("h3", {}, t("unassigned")), unassignedList),
    h("section", {}, h("h3", {}, t("needs_approval")), approvals));

  // A failed load says why (the map keeps what it had); a load a newer one replaced says nothing.
  const failed = (e) => { if (e.name !== "AbortError") toast(`${e.status ? `(${e.status}) ` : ""}${problem(e)}`, "error"); };
  kindSel.onchange = statusSel.onchange = () => loadVisits().catch(failed);  // the server filters these
  overdueOnly.onchange = districtSel.onchange = () => showVisits();  // these, the browser: nothing re-read
  dateIn.onchange = () => loadRoutes().catch(failed);
  planBtn.onclick = () => plan();
  boxBtn.onclick = () => { s.boxMode = !s.boxMode; boxBtn.classList.toggle("on", s.boxMode);
    s.boxMode ? map.dragging.disable() : map.dragging.enable(); };

  // --- box select: drag a rectangle in box mode
  let start = null, rect = null;
  map.on("mousedown", (e) => { if (!s.boxMode) return; start = e.latlng;
    rect = L.rectangle([start, start], { color: "#111827", weight: 1, dashArray: "4 3", className: "box" }).addTo(map); });
  map.on("mousemove", (e) => { if (start && rect) rect.setBounds([start, e.latlng]); });
  map.on("mouseup", (e) => {
    if (!start) return;
    const bounds = L.latLngBounds(start, e.latlng);
    start = null; rect.remove(); rect = null;
    s.selected = new Set(s.visits.filter((f) => bounds.contains(toMap(f.lat, f.lon))).map((f) => f.id));
    drawVisits(); showSelection();
  });

  function showSelection() {
    clear(selectedBox);
    if (!s.selected.size) return;
    append(selectedBox, h("p", {}, `${t("selected")}: ${s.selected.size}`),
      h("button", { type: "button", onclick: () => { s.selected.clear(); drawVisits(); showSelection(); } }, "×"));
  }

  function legend() {
    return h("div", { class: "legend" }, ...Object.entries(KIND_COLOURS).map(([k, c]) => {
      const dot = h("span", { class: "dot" }); dot.style.background = c; return h("span", {}, dot, tv(k));
    }), h("span", { class: "hazard-mark" }, "⚠ ", t("hazard")), h("span", { class: "late-mark" }, "◯ ", t("overdue")));
  }

  // --- data
  async function loadCollectors() {
    // Every user's name (who pinned a visit is not always a collector), and the active collectors among them.
    const everyone = await api.allPages("/users");
    const users = everyone.filter((u) => u.role === "collector" && u.active);
    s.users = new Map(everyone.map((u) => [u.id, u.name]));
    s.collectors = new Map(users.map((u, i) => [u.id, { id: u.id, name: u.name, colour: ROUTE_COLOURS[i % ROUTE_COLOURS.length], team: u.team_size }]));
    clear(collectorBox);
    for (const c of s.collectors.values()) {
      append(collectorBox, h("label", {}, h("input", { type: "checkbox", value: c.id, checked: true }), " ", c.name));
    }
  }

  // The district, read from the address text ("成都市锦江区…" → 锦江区).
  function districtOf(text) {
    const m = (text || "").match(/市([^市区县\s]{1,6}?[区县])/) || (text || "").match(/([^\s,，市]{1,6}?[区县])/);
    return m ? m[1] : "";
  }

  // Reads the visits of the chosen kind and status (open ones when no status is chosen: the server leaves
  // the closed ones out), then draws them. A newer load aborts an older one, so the older cannot overwrite it.
  let loading = null;
  async function loadVisits() {
    if (loading) loading.abort();
    const controller = loading = new AbortController();
    const query = { kind: kindSel.value, status: statusSel.value, open: statusSel.value ? undefined : "true" };
    const options = { signal: controller.signal };
    try {
      const [features, records] = await Promise.all([api.allPages("/visits.geojson", query, LIMIT, options),
        api.allPages("/visits", query, LIMIT, options)]);
      if (controller.signal.aborted) return;
      s.fetched = { features, districts: new Map(records.map((r) => [r.id, districtOf(r.address && r.address.text)])) };
      const cut = [features, records].find((list) => list.truncated);
      cutNotice.hidden = !cut;
      cutNotice.textContent = cut ? `${t("list_cut")}: ${cut.length} / ${cut.total}` : "";
    } catch (e) {
      if (controller.signal.aborted) return;  // replaced by a newer load, which draws
      throw e;
    } finally { if (loading === controller) loading = null; }
    const names = [...new Set(s.fetched.districts.values())].filter(Boolean).sort();
    const chosen = districtSel.value;
    clear(districtSel);
    append(districtSel, h("option", { value: "" }, t("all")), ...names.map((n) => h("option", { value: n }, n)));
    districtSel.value = names.includes(chosen) ? chosen : "";
    showVisits();
  }

  // The fetched visits through the district and "overdue" filters, drawn.
  function showVisits() {
    const now = Date.now();
    s.visits = s.fetched.features.filter((f) => f.geometry).map((f) => ({ id: f.properties.id, lon: f.geometry.coordinates[0],
      lat: f.geometry.coordinates[1], ...f.properties, district: s.fetched.districts.get(f.properties.id) || "",
      late: new Date(f.properties.due_by).getTime() < now }))
      .filter((v) => (!overdueOnly.checked || v.late) && (!districtSel.value || v.district === districtSel.value));
    drawVisits();
    showExtent(map, s.visits.map((v) => toMap(v.lat, v.lon)));
    drawApprovals();
  }

  function drawVisits() {
    visitLayer.clearLayers();
    const now = Date.now();
    for (const v of s.visits) {
      const daysLeft = (new Date(v.due_by).getTime() - now) / 86400000;
      const marker = L.circleMarker(toMap(v.lat, v.lon), {
        radius: 6 + Math.min(4, Math.max(0, 3 - daysLeft)), color: v.late ? "#dc2626" : daysLeft < 2 ? "#f59e0b" : "#ffffff",
        weight: v.late ? 3 : 2, fillColor: KIND_COLOURS[v.kind] || "#6b7280", fillOpacity: s.selected.has(v.id) ? 1 : 0.75,
        dashArray: v.status === "needs_approval" ? "3 3" : null, className: `visit visit-${v.id}${s.selected.has(v.id) ? " selected" : ""}`,
      });
      marker.on("click", () => showVisit(v));
      const pin = s.pins.get(v.id);
      marker.bindTooltip(h("span", {}, `#${v.id} ${tv(v.kind)} · ${tv(v.status)} · ${t("due")} ${dateTime(v.due_by)}`
        + (pin ? ` · ${pinText(pin, nameOf)}` : "")));
      marker.addTo(visitLayer);
      if (pin) {
        L.marker(toMap(v.lat, v.lon), { icon: L.divIcon({ className: `pin-icon pin-${v.id}`, html: h("span", {}, PIN),
          iconSize: [16, 16], iconAnchor: [20, 18] }), interactive: false, keyboard: false }).addTo(visitLayer);
      }
      if (v.hazard || v.requires_two) {
        L.marker(toMap(v.lat, v.lon), { icon: L.divIcon({ className: "hazard-icon", html: "⚠", iconSize: [16, 16], iconAnchor: [-4, 18] }),
          interactive: false, keyboard: false }).addTo(visitLayer);
      }
    }
  }

  async function showVisit(v) {
    clear(summary);
    append(summary, h("h3", {}, `${t("case_summary")} · #${v.id}`), h("p", { class: "muted" }, "…"));
    try {
      const c = await api.get(`/cases/${v.case_id}`);
      clear(summary);
      append(summary, h("h3", {}, `${t("case_summary")} · ${tv(v.kind)} #${v.id}`),
        h("dl", { class: "facts" },
          h("dt", {}, t("debtor")), h("dd", {}, c.debtor_name),
          h("dt", {}, t("amount")), h("dd", {}, `${c.amount_due} ${c.currency}`),
          h("dt", {}, t("days_past_due")), h("dd", {}, c.days_past_due),
          h("dt", {}, t("status")), h("dd", {}, `${tv(v.status)} · ${tv(c.contact_status)}`),
          h("dt", {}, t("due")), h("dd", { class: v.late ? "late" : "" }, withDebtorTime(v.due_by, c.timezone, t("debtor_local"))),
          h("dt", {}, t("phones")), h("dd", {}, (c.phones || []).map((p) => p.number).join(", ") || "—", c.masked ? ` ${t("masked")}` : ""),
          h("dt", {}, t("hazard")), h("dd", {}, v.hazard || v.requires_two ? `⚠ ${t("two_person")}` : t("none"))),
        h("a", { href: `#/cases/${c.id}` }, `${t("cases")} →`), pinsFor(v.id));
    } catch (e) { clear(summary); append(summary, h("p", { class: "error" }, e.message)); }
  }

  async function drawApprovals() {
    clear(approvals);
    const pending = s.visits.filter((v) => v.status === "needs_approval");
    if (!pending.length) { append(approvals, h("p", { class: "muted" }, t("none"))); return; }
    for (const v of pending) {
      append(approvals, h("div", { class: "row" }, `#${v.id} ${tv(v.kind)}`,
        h("button", { type: "button", class: "approve", onclick: async () => {
          try { await api.post(`/visits/${v.id}/approve`); toast(`#${v.id} ✓`); }
          catch (e) { toast(`${t("refused")}: ${e.message}`, "error"); return; }
          loadVisits().catch(failed);
        } }, t("approve"))));
    }
  }

  // The day's routes; an older day's answer arriving after a newer one's is dropped.
  let routesAsked = 0;
  async function loadRoutes() {
    const asked = ++routesAsked;
    const routes = await api.allPages("/routes", { date: dateIn.value });  // a route per collector: past 100 too
    if (asked !== routesAsked) return;
    s.routes = routes;
    drawRoutes();
  }

  async function plan() {
    const collector_ids = [...collectorBox.querySelectorAll("input:checked")].map((i) => Number(i.value));
    const body = { date: dateIn.value, collector_ids };
    if (s.selected.size) body.visit_ids = [...s.selected];
    planBtn.disabled = true; progress.hidden = false; progress.value = 0; progressText.textContent = t("planning");
    try {
      let result = await api.post("/routes/plan", body);
      if (result._status === 202 || result.job_id) result = await follow(result.job_id);
      progress.value = 1;
      routesAsked++;  // a day's routes still being read are older than the plan's
      s.routes = result.routes || [];
      s.unassigned = result.unassigned || [];
      drawRoutes(); drawUnassigned();
      await loadVisits();
    } catch (e) { toast(`${t("refused")}: ${e.message}`, "error"); }
    finally { planBtn.disabled = false; progressText.textContent = ""; setTimeout(() => { progress.hidden = true; }, 800); }
  }

  async function follow(jobId) {
    for (;;) {
      const job = await api.get(`/jobs/${jobId}`);
      progress.value = job.progress || 0;
      progressText.textContent = `${t("job")} #${jobId} · ${tv(job.status)} · ${Math.round((job.progress || 0) * 100)}%`;
      if (job.status === "done") return job.result || {};
      if (job.status === "failed") throw new Error(job.error || "failed");
      await new Promise((r) => setTimeout(r, 400));
    }
  }

  function colourOf(collectorId) { return (s.collectors.get(collectorId) || {}).colour || "#334155"; }
  function nameOf(collectorId) { return (s.collectors.get(collectorId) || {}).name || `#${collectorId}`; }

  // A collector's area for the day: the convex hull of their stops (monotone chain).
  function hull(points) {
    const p = [...points].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const cross = (o, a, b) => (a[1] - o[1]) * (b[0] - o[0]) - (a[0] - o[0]) * (b[1] - o[1]);
    const half = (list) => list.reduce((acc, pt) => {
      while (acc.length >= 2 && cross(acc[acc.length - 2], acc[acc.length - 1], pt) <= 0) acc.pop();
      acc.push(pt); return acc;
    }, []);
    const lower = half(p), upper = half([...p].reverse());
    return lower.slice(0, -1).concat(upper.slice(0, -1));
  }

  function drawRoutes() {
    routeLayer.clearLayers();
    clear(routeList);
    if (!s.routes.length) append(routeList, h("p", { class: "muted" }, t("none")));
    for (const r of s.routes) {
      const colour = colourOf(r.collector_id);
      const points = r.stops.map((st) => toMap(st.lat, st.lon));
      if (points.length > 2) L.polygon(hull(points), { color: colour, weight: 1, fillOpacity: 0.07, interactive: false,
        className: `area area-${r.collector_id}` }).addTo(routeLayer);
      if (points.length > 1) L.polyline(points, { color: colour, weight: 4, opacity: 0.85, className: `route-line route-${r.id}` }).addTo(routeLayer);
      for (const st of r.stops) {
        const icon = h("span", { class: "stop-number" }, String(st.sequence));
        icon.style.background = colour;
        const marker = L.marker(toMap(st.lat, st.lon), { icon: L.divIcon({ className: `stop-marker stop-${st.visit_id}`, html: icon, iconSize: [22, 22] }) });
        const pin = s.pins.get(st.visit_id);
        marker.bindTooltip(h("span", {}, `${nameOf(r.collector_id)} · ${t("stop")} ${st.sequence} · ${t("eta")} ${clock(st.eta)}`
          + (pin ? ` · ${pinText(pin, nameOf)}` : "")));
        marker.on("click", () => stopPanel(r, st));
        marker.addTo(routeLayer);
      }
      const swatch = h("span", { class: "swatch" }); swatch.style.background = colour;
      const first = r.stops[0], last = r.stops[r.stops.length - 1];
      append(routeList, h("div", { class: "route", dataset: { routeId: r.id, collectorId: r.collector_id } },
        h("div", { class: "route-head" }, swatch, h("strong", {}, nameOf(r.collector_id)),
          h("span", { class: "muted" }, ` ${r.stops.length} · ${km(r.distance_m)} · ${hours(r.duration_s)}`)),
        h("ol", { class: "stops" }, ...r.stops.map((st) => h("li", { dataset: { visitId: st.visit_id } },
          h("button", { type: "button", class: "link", onclick: () => stopPanel(r, st) }, `#${st.visit_id}`),
          h("span", { class: "eta" }, ` ${t("eta")} ${clock(st.eta)}`),
          s.pins.has(st.visit_id) ? h("span", { class: "pin-label" }, ` ${PIN} ${nameOf(s.pins.get(st.visit_id).collector_id)}`) : null)))));
      void first; void last;
    }
  }

  // Every pin as the API has it now, whoever set it; the map and the route list redrawn with them.
  async function refreshPins() {
    s.pins = await loadPins();
    drawVisits(); drawRoutes();
  }

  function pinsFor(visitId) {
    return pinControls(visitId, { collectors: [...s.collectors.values()], nameOf, pinOf: (id) => s.pins.get(id),
      userName: (id) => s.users.get(id) || (id ? `#${id}` : "—"), refresh: refreshPins });
  }

  function drawUnassigned() {
    clear(unassignedList);
    if (!s.unassigned.length) { append(unassignedList, h("p", { class: "muted" }, t("none"))); return; }
    append(unassignedList, h("ul", {}, ...s.unassigned.map((u) => h("li", {}, `#${u.visit_id}: ${tv(u.reason)}`))));
  }

  function stopPanel(route, stop) {
    clear(summary);
    const target = h("select", { name: "move-to" }, ...[...s.collectors.values()].filter((c) => c.id !== route.collector_id)
      .map((c) => h("option", { value: c.id }, c.name)));
    const moveBtn = h("button", { type: "button", id: "move-stop", class: "primary" }, t("move"));
    const result = h("p", { id: "move-result" });
    moveBtn.onclick = async () => {
      moveBtn.disabled = true; result.textContent = ""; result.className = "";
      try {
        const moved = await api.post(`/routes/${route.id}/stops/${stop.visit_id}/move`, { collector_id: Number(target.value) });
        const changed = new Map(moved.routes.map((r) => [r.id, r]));
        s.routes = s.routes.filter((r) => !moved.removed_route_ids.includes(r.id)).map((r) => changed.get(r.id) || r);
        for (const r of moved.routes) if (!s.routes.some((x) => x.id === r.id)) s.routes.push(r);
        drawRoutes();
        result.textContent = t("moved"); result.className = "ok";
        toast(t("moved"));
      } catch (e) {
        result.textContent = `${t("refused")}: ${tcode(e.reason || e.code)} — ${e.message}`; result.className = "error";
      } finally { moveBtn.disabled = false; }
    };
    append(summary, h("h3", {}, `${nameOf(route.collector_id)} · ${t("stop")} ${stop.sequence} · #${stop.visit_id}`),
      h("p", {}, `${t("eta")} ${dateTime(stop.eta)}`),
      h("div", { class: "row" }, t("move_to"), " ", target, moveBtn), result, pinsFor(stop.visit_id));
    const v = s.visits.find((x) => x.id === stop.visit_id);
    if (v) api.get(`/cases/${v.case_id}`).then((c) => append(summary, h("p", { class: "muted" },
      `${c.debtor_name} · ${withDebtorTime(stop.eta, c.timezone, t("debtor_local"))}`))).catch(() => {});
  }

  await loadCollectors();
  s.pins = await loadPins();
  await Promise.all([loadVisits(), loadRoutes()]);
  drawUnassigned();
  return () => map.remove();
}
