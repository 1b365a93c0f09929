// Safety board (supervisors, dispatchers): open alerts on top by level with colour and sound,
// collectors on shift with last check-in and a live countdown to the next deadline; acknowledge,
// resolve with a reason, an alert's trail. Short polling; it says when it last heard from the server.
import * as api from "./api.js";
import { append, clear, h, toast } from "./dom.js";
import { countdown, dateTime } from "./fmt.js";
import { t, tv } from "./i18n.js";

const POLL_MS = 2000;

export async function render(root) {
  const heard = h("span", { id: "last-heard", class: "muted" });
  const alertsBox = h("div", { id: "alerts" });
  const board = h("div", { id: "board" });
  const trail = h("div", { id: "trail" });
  append(clear(root), h("div", { class: "page" },
    h("div", { class: "row between" }, h("h2", {}, t("safety")), heard),
    h("h3", {}, t("open_alerts")), alertsBox, h("h3", {}, t("on_shift")), board, trail));
  const known = new Set();
  let lastHeard = null, first = true, stopped = false, data = { alerts: [], collectors: [] };

  async function poll() {
    try {
      const [alerts, live] = await Promise.all([api.get("/safety/alerts", { state: "active" }), api.get("/safety/board")]);
      data = { alerts: api.items(alerts), collectors: live.collectors || [] };
      lastHeard = Date.now();
      const fresh = data.alerts.filter((a) => a.state === "open" && !known.has(a.id));
      data.alerts.forEach((a) => known.add(a.id));
      if (fresh.length && !first) beep(Math.max(...fresh.map((a) => a.level)));
      first = false;
      draw();
    } catch (e) { heard.classList.add("error"); }
  }

  function draw() {
    clear(alertsBox);
    const sorted = [...data.alerts].sort((a, b) => (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1)
      || b.level - a.level || a.raised_at.localeCompare(b.raised_at));
    if (!sorted.length) append(alertsBox, h("p", { class: "muted" }, t("no_alerts")));
    for (const a of sorted) {
      const reason = h("input", { type: "text", name: "reason", placeholder: t("reason"), maxlength: 500 });
      append(alertsBox, h("div", { class: `alert level-${Math.min(a.level, 4)} ${a.state}`, dataset: { alertId: a.id } },
        h("div", { class: "alert-head" }, h("strong", {}, `${tv(a.kind)}${a.duress ? " ‼" : ""}`), " · ",
          (a.collector && a.collector.name) || (a.collector_id ? `#${a.collector_id}` : tv("system")),
          " · ", `${t("level")} ${a.level} ${a.level_name || ""}`, " · ", tv(a.state)),
        h("div", { class: "muted" }, `${t("raised")} ${dateTime(a.raised_at)}`, a.deadline ? ` · ${t("next_deadline")} ` : "",
          a.deadline ? h("span", { class: "countdown", dataset: { at: a.deadline } }) : "", a.note ? ` · ${a.note}` : ""),
        h("div", { class: "row" },
          a.state === "open" ? h("button", { type: "button", class: "ack primary", onclick: () => act(a, "ack") }, t("ack")) : "",
          reason, h("button", { type: "button", class: "resolve", onclick: () => act(a, "resolve", reason.value) }, t("resolve")),
          h("button", { type: "button", class: "trail-btn", onclick: () => showTrail(a.id) }, t("trail")))));
    }
    clear(board);
    const table = h("table", { class: "grid" }, h("thead", {}, h("tr", {}, ...[t("collectors"), t("last_checkin"), t("next_deadline"), t("alerts")].map((x) => h("th", {}, x)))));
    const tbody = h("tbody");
    for (const c of data.collectors) {
      append(tbody, h("tr", { class: c.overdue ? "overdue" : "", dataset: { collectorId: c.collector_id } },
        h("td", {}, c.name), h("td", {}, c.last_checkin ? `${tv(c.last_checkin.kind)} ${dateTime(c.last_checkin.at)}` : "—"),
        h("td", {}, h("span", { class: "countdown", dataset: { at: c.next_checkin_by || "" } })),
        h("td", {}, (c.open_alerts || []).map((a) => `${tv(a.kind)} L${a.level}`).join(", ") || "—")));
    }
    append(board, append(table, [tbody]));
    tick();
  }

  function tick() {
    for (const el of root.querySelectorAll(".countdown")) {
      const c = countdown(el.dataset.at || null);
      el.textContent = c.text; el.classList.toggle("late", c.overdue);
    }
    heard.textContent = lastHeard ? `${t("last_heard")}: ${dateTime(new Date(lastHeard).toISOString())} (${Math.round((Date.now() - lastHeard) / 1000)} ${t("seconds_ago")})` : "…";
  }

  async function act(alert, action, reason) {
    try {
      if (action === "resolve" && !reason.trim()) { toast(`${t("reason")}?`, "error"); return; }
      await api.post(`/safety/alerts/${alert.id}/${action}`, action === "resolve" ? { reason } : {});
      toast(`${t(action)} ✓`);
      await poll();
    } catch (e) { toast(`${t("refused")}: ${e.message}`, "error"); }
  }

  async function showTrail(id) {
    const a = await api.get(`/safety/alerts/${id}`);
    clear(trail);
    append(trail, h("h3", {}, `${t("trail")} #${id}`), h("ol", { class: "trail" }, ...(a.events || []).map((e) =>
      h("li", {}, `${dateTime(e.at)} · ${e.action} · L${e.level}${e.note ? ` · ${e.note}` : ""}`))));
  }

  let audio = null;
  function beep(level) {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = 440 + 220 * level; gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination); osc.start(); osc.stop(audio.currentTime + 0.25 + 0.15 * level);
    } catch { /* no audio device: colour still tells */ }
  }

  await poll();
  const pollTimer = setInterval(() => { if (!stopped) poll(); }, POLL_MS);
  const tickTimer = setInterval(tick, 1000);
  return () => { stopped = true; clearInterval(pollTimer); clearInterval(tickTimer); };
}
