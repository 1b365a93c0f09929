// Cases: search; one case's addresses, phones (masked unless the role may read them), contacts,
// contact log with the rules' refusals and late entries, promises, visits. Times in the viewer's
// zone with the debtor's local time beside them where the contact rules depend on it.
import * as api from "./api.js";
import { append, clear, h } from "./dom.js";
import { dateTime, withDebtorTime } from "./fmt.js";
import { t, tv } from "./i18n.js";

export async function render(root, caseId) {
  const q = h("input", { type: "search", name: "q", placeholder: t("search") });
  const results = h("div", { id: "case-results" });
  const detail = h("div", { id: "case-detail" });
  const form = h("form", { class: "row" }, q, h("button", { type: "submit" }, t("search")));
  form.onsubmit = (e) => { e.preventDefault(); search(); };
  append(clear(root), h("div", { class: "split-even" }, h("div", {}, form, results), detail));

  async function search() {
    const body = await api.get("/cases", { q: q.value || undefined, page_size: 50 });
    clear(results);
    append(results, h("p", { class: "muted" }, `${body.total ?? api.items(body).length}`),
      h("ul", { class: "list" }, ...api.items(body).map((c) => h("li", {},
        h("a", { href: `#/cases/${c.id}` }, `${c.external_ref} · ${c.debtor_name}`),
        ` · ${c.amount_due} ${c.currency} · ${c.days_past_due}d · ${tv(c.contact_status)}`))));
  }

  async function show(id) {
    clear(detail);
    const c = await api.get(`/cases/${id}`);
    const part = (key, path, row) => {
      const box = h("section", { id: `case-${key}` }, h("h3", {}, t(key)));
      api.get(path).then((body) => {
        const rows = api.items(body);
        append(box, rows.length ? h("ul", { class: "list" }, ...rows.map(row)) : h("p", { class: "muted" }, t("none")));
      }).catch((e) => append(box, h("p", { class: "muted" }, e.status === 403 ? "—" : e.message)));
      return box;
    };
    append(detail, h("h2", {}, `${c.debtor_name} · ${c.external_ref}`),
      h("p", {}, `${c.amount_due} ${c.currency} · ${t("days_past_due")} ${c.days_past_due} · ${tv(c.contact_status)} · ${t("timezone")} ${c.timezone}`),
      h("section", {}, h("h3", {}, t("addresses")), h("ul", { class: "list" }, ...(c.addresses || []).map((a) => h("li", {}, `${tv(a.kind)} · ${a.text}`)))),
      h("section", {}, h("h3", {}, `${t("phones")} ${c.masked ? t("masked") : ""}`),
        h("ul", { class: "list" }, ...(c.phones || []).map((p) => h("li", { class: "phone" }, `${p.number} · ${p.kind} · ${p.source}`)))),
      h("section", {}, h("h3", {}, t("contacts")), h("ul", { class: "list" }, ...(c.contacts || []).map((p) =>
        h("li", {}, `${p.name} · ${tv(p.relationship)} · ${p.phone || "—"}${p.do_not_contact ? " · ⛔" : ""}`)))),
      part("contact_log", `/cases/${id}/contact-attempts`, (a) => h("li", { class: a.refused || (a.violations || []).length ? "refusal" : "" },
        `${withDebtorTime(a.started_at, c.timezone, t("debtor_local"))} · ${tv(a.channel)} · ${a.party_name || a.party || ""} · ${tv(a.result || a.status || "")}`,
        a.late_entry ? " · late" : "", (a.violations || []).length ? ` · ${t("violations")}: ${a.violations.map((v) => v.code || v).join(", ")}` : "",
        a.refusal_code ? ` · ${t("refusals")}: ${a.refusal_code}` : "")),
      part("promises", `/cases/${id}/promises`, (p) => h("li", {}, `${p.amount} · ${p.due_date} · ${tv(p.status)}`)));
    const mine = await api.allPages("/visits", { case_id: c.id });
    append(detail, h("section", { id: "case-visits" }, h("h3", {}, t("visits")),
      mine.length ? h("ul", { class: "list" }, ...mine.map((v) => h("li", {}, `#${v.id} · ${tv(v.kind)} · ${tv(v.status)} · ${t("due")} ${dateTime(v.due_by)}`)))
        : h("p", { class: "muted" }, t("none"))));
  }

  await search();
  if (caseId) await show(caseId);
}
