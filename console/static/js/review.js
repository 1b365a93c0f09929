// Review & reports (supervisors): late contact entries, compliance follow-up, the outcome review queue
// (each flagged report closed with a decision and a note) and collectors' daily reports for a date,
// each with a CSV download.
import * as api from "./api.js";
import { append, clear, download, h, toast, toCsv } from "./dom.js";
import { dateTime, km, today } from "./fmt.js";
import { t, tv } from "./i18n.js";

const LISTS = [
  { key: "late_entries", path: "/compliance/late-entries" },
  { key: "follow_up", path: "/compliance/follow-up" },
];
const DECISIONS = ["accepted", "corrected", "rejected", "escalated"];
const REVIEW_COLUMNS = ["outcome_id", "visit_id", "collector_id", "outcome", "recorded_at", "distance_m", "on_site",
  "accuracy_m", "reasons"];
const DAY_COLUMNS = ["name", "visits_done", "visits_failed", "on_site_rate", "promises", "payments", "km_travelled",
  "flags"];

export async function render(root) {
  const page = h("div", { class: "page" }, h("h2", {}, t("review")));
  append(clear(root), page);
  const boxes = [...LISTS.map((list) => section(page, list.key)), section(page, "outcome_review"),
    section(page, "daily_reports")];
  await Promise.all([
    ...LISTS.map((list, k) => plainList(boxes[k], list)),
    outcomeReview(boxes[LISTS.length]),
    dailyReports(boxes[LISTS.length + 1]),
  ]);
}

function section(page, key) {
  const box = h("section", { id: key, class: "report" }, h("h3", {}, t(key)));
  page.append(box);
  return box;
}

async function plainList(box, list) {
  let rows;
  try { rows = api.items(await api.get(list.path, { page_size: 200 })); }
  catch (e) { append(box, h("p", { class: "muted" }, e.message)); return; }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 10);
  append(box, header(rows.length, () => download(`${list.key}.csv`, toCsv(rows, columns))));
  append(box, rows.length ? table(rows, columns) : h("p", { class: "muted" }, t("none")));
}

async function outcomeReview(box) {
  const body = h("div", {});
  append(box, body);
  const load = async () => {
    clear(body);
    let rows;
    try { rows = api.items(await api.get("/review/outcomes", { page_size: 200 })); }
    catch (e) { append(body, h("p", { class: "muted" }, e.message)); return; }
    append(body, header(rows.length, () => download("outcome_review.csv", toCsv(rows, REVIEW_COLUMNS))));
    if (!rows.length) { append(body, h("p", { class: "muted" }, t("none"))); return; }
    append(body, h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...REVIEW_COLUMNS.map((c) => h("th", {}, t(c))), h("th", {}, t("decision")))),
      h("tbody", {}, ...rows.map((row) => h("tr", { class: "review-item", dataset: { outcomeId: row.outcome_id } },
        ...REVIEW_COLUMNS.map((c) => h("td", {}, c === "reasons" ? row.reasons.map(tv).join(", ") : cell(row[c]))),
        h("td", {}, decisionForm(row, load))))))));
  };
  await load();
}

function decisionForm(row, reload) {
  const decision = h("select", { name: "decision" }, ...DECISIONS.map((d) => h("option", { value: d }, tv(d))));
  const note = h("input", { name: "note", placeholder: t("note"), maxlength: "2000" });
  const submit = h("button", { type: "submit" }, t("close_review"));
  return h("form", { class: "row decision", onsubmit: async (event) => {
    event.preventDefault();
    if (!note.value.trim()) { toast(`${t("note")}: ${t("required")}`, "error"); return; }
    submit.disabled = true;
    try {
      await api.post(`/review/outcomes/${row.outcome_id}`, { decision: decision.value, note: note.value.trim() });
      toast(t("review_closed"));
      await reload();
    } catch (e) { toast(e.message, "error"); submit.disabled = false; }
  } }, decision, note, submit);
}

async function dailyReports(box) {
  const date = h("input", { type: "date", name: "date", value: today() });
  const body = h("div", {});
  const load = async () => {
    clear(body);
    let rows;
    try { rows = api.items(await api.get("/reports/collectors/daily", { date: date.value, page_size: 1000 })); }
    catch (e) { append(body, h("p", { class: "muted" }, e.message)); return; }
    append(body, header(rows.length, async () => {
      const response = await api.request("GET", "/reports/collectors/daily",
        { query: { date: date.value, format: "csv", page_size: 1000 }, raw: true });
      download(`daily_report_${date.value}.csv`, await response.text());
    }));
    append(body, rows.length ? table(rows.map(dayRow), DAY_COLUMNS) : h("p", { class: "muted" }, t("none")));
  };
  append(box, h("label", { class: "row" }, t("date"), date), body);
  date.addEventListener("change", load);
  await load();
}

function dayRow(row) {
  return { ...row, km_travelled: km((row.km_travelled || 0) * 1000),
    on_site_rate: row.on_site_rate == null ? "—" : `${Math.round(row.on_site_rate * 100)}%`,
    flags: Object.entries(row.flags || {}).map(([flag, n]) => `${tv(flag)} ${n}`).join(", ") };
}

function header(count, onCsv) {
  return h("div", { class: "row between" }, h("span", { class: "muted count" }, `${count}`),
    h("button", { type: "button", class: "csv", onclick: onCsv }, t("download_csv")));
}

function table(rows, columns) {
  return h("div", { class: "scroll" }, h("table", { class: "grid" },
    h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", {}, t(c))))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...columns.map((c) => h("td", {}, cell(r[c]))))))));
}

function cell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "boolean") return tv(String(v));
  if (typeof v === "string" && /^[a-z_]+$/.test(v)) return tv(v);
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return dateTime(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
