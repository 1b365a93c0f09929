// Review & reports (supervisors): late contact entries, compliance follow-up, and — where the API
// has them — the outcome review queue and collectors' daily reports, each with a CSV download.
import * as api from "./api.js";
import { append, clear, download, h, toCsv } from "./dom.js";
import { dateTime } from "./fmt.js";
import { t } from "./i18n.js";

const SECTIONS = [
  { key: "late_entries", path: "/compliance/late-entries" },
  { key: "follow_up", path: "/compliance/follow-up" },
  { key: "outcome_review", path: "/review/outcomes" },
  { key: "daily_reports", path: "/reports/collectors/daily", csv: true },
];

export async function render(root) {
  const page = h("div", { class: "page" }, h("h2", {}, t("review")));
  append(clear(root), page);
  await Promise.all(SECTIONS.map(async (section) => {
    const box = h("section", { id: section.key, class: "report" }, h("h3", {}, t(section.key)));
    page.append(box);
    let rows;
    try { rows = api.items(await api.get(section.path, { page_size: 200 })); }
    catch (e) {
      append(box, h("p", { class: "muted" }, e.status === 404 || e.status === 405 ? t("not_available") : e.message));
      return;
    }
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].slice(0, 10);
    const csvBtn = h("button", { type: "button", class: "csv", onclick: async () => {
      if (section.csv) {
        try {
          const response = await api.request("GET", section.path, { query: { format: "csv" }, raw: true });
          if ((response.headers.get("Content-Type") || "").includes("csv")) { download(`${section.key}.csv`, await response.text()); return; }
        } catch { /* fall back to the rows on screen */ }
      }
      download(`${section.key}.csv`, toCsv(rows, columns));
    } }, t("download_csv"));
    append(box, h("div", { class: "row between" }, h("span", { class: "muted" }, `${rows.length}`), csvBtn));
    if (!rows.length) { append(box, h("p", { class: "muted" }, t("none"))); return; }
    append(box, h("div", { class: "scroll" }, h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", {}, c)))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, ...columns.map((c) => h("td", {}, cell(r[c])))))))));
  }));
}

function cell(v) {
  if (v === null || v === undefined) return "";
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return dateTime(v);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
