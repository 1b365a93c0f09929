// Tracing queue (tracers): requests with status and progress, a new request with the two uploads and
// the legal basis, candidates ranked with their evidence in words, confirm or reject.
import * as api from "./api.js";
import { append, clear, h, problem, toast } from "./dom.js";
import { dateTime } from "./fmt.js";
import { t, tv } from "./i18n.js";

const BASES = ["debtor_consent", "contract_performance", "legal_obligation", "court_order"];

export async function render(root) {
  const list = h("div", { id: "requests" });
  const detail = h("div", { id: "request-detail" });
  const caseIn = h("input", { type: "number", name: "case_id", min: 1, required: true });
  const basis = h("select", { name: "legal_basis" }, ...BASES.map((b) => h("option", { value: b }, tv(b))));
  const contacts = h("input", { type: "file", name: "contacts", accept: ".csv,.json,.jsonl,text/csv,application/json" });
  const calls = h("input", { type: "file", name: "calls", accept: ".csv,.json,.jsonl,text/csv,application/json" });
  const form = h("form", { id: "new-request", class: "card" }, h("h3", {}, t("new_request")),
    h("label", {}, t("case_id"), " ", caseIn), h("label", {}, t("legal_basis"), " ", basis),
    h("label", {}, t("contacts_file"), " ", contacts), h("label", {}, t("calls_file"), " ", calls),
    h("button", { type: "submit", class: "primary" }, t("submit")));
  const queueCase = h("input", { type: "number", name: "queue_case", min: 1, placeholder: t("case_id") });
  append(clear(root), h("div", { class: "split-even" },
    h("div", {}, form, h("h3", {}, t("requests")), h("div", { class: "row" }, queueCase,
      h("button", { type: "button", onclick: () => loadList() }, t("load"))), list),
    detail));
  const tracked = new Map();
  let timer = null;

  // The lawful bases the case's policy profile accepts, with their descriptions.
  caseIn.onchange = async () => {
    if (!caseIn.value) return;
    try {
      const body = await api.get("/tracing/legal-bases", { case_id: caseIn.value });
      const chosen = basis.value;
      clear(basis);
      for (const b of body.bases || []) append(basis, h("option", { value: b.code, title: b.description || "" }, tv(b.code)));
      if ([...basis.options].some((o) => o.value === chosen)) basis.value = chosen;
    } catch { /* keep the default list; the server still checks the basis */ }
  };

  form.onsubmit = async (e) => {
    e.preventDefault();
    const data = new FormData();
    data.set("case_id", caseIn.value);
    data.set("legal_basis", basis.value);
    if (contacts.files[0]) data.set("contacts", contacts.files[0]);
    if (calls.files[0]) data.set("calls", calls.files[0]);
    try {
      const created = await api.request("POST", "/tracing/requests", { form: data });
      tracked.set(created.id, created);
      queueCase.value = caseIn.value;
      toast(`#${created.id} ✓`);
      await loadList();
      open(created.id);
    } catch (err) {
      toast(`${t("refused")}: ${problem(err)}`, "error");
    }
  };

  async function loadList() {
    let rows = [];
    try { rows = api.items(await api.get("/tracing/requests", { case_id: queueCase.value || undefined })); }
    catch (e) {
      // Older APIs list by case only: show what this screen has seen until a case id is given.
      rows = [...tracked.values()];
      if (!queueCase.value) append(clear(list), h("p", { class: "muted" }, t("queue_hint")));
    }
    for (const r of rows) tracked.set(r.id, r);
    drawList([...tracked.values()].sort((a, b) => b.id - a.id));
    const running = [...tracked.values()].some((r) => r.status === "queued" || r.status === "running");
    clearTimeout(timer);
    if (running) timer = setTimeout(refreshRunning, 700);
  }

  async function refreshRunning() {
    for (const r of [...tracked.values()].filter((x) => x.status === "queued" || x.status === "running")) {
      try { tracked.set(r.id, await api.get(`/tracing/requests/${r.id}`)); } catch { /* keep the last */ }
    }
    drawList([...tracked.values()].sort((a, b) => b.id - a.id));
    if (current && tracked.get(current)?.status === "done" && !shown) open(current);
    if ([...tracked.values()].some((x) => x.status === "queued" || x.status === "running")) timer = setTimeout(refreshRunning, 700);
  }

  function drawList(rows) {
    clear(list);
    if (!rows.length) { append(list, h("p", { class: "muted" }, t("queue_hint"))); return; }
    for (const r of rows) {
      append(list, h("div", { class: `request ${r.status}`, dataset: { requestId: r.id } },
        h("button", { type: "button", class: "link", onclick: () => open(r.id) }, `#${r.id} · ${t("case_id")} ${r.case_id}`),
        ` · ${tv(r.status)} · ${tv(r.legal_basis)} · ${dateTime(r.created_at)}`,
        h("progress", { max: 1, value: r.progress || 0 }),
        r.error ? h("span", { class: "error" }, r.error) : ""));
    }
  }

  let current = null, shown = false;
  async function open(id) {
    current = id; shown = false;
    clear(detail);
    const r = tracked.get(id) || await api.get(`/tracing/requests/${id}`);
    append(detail, h("h3", {}, `#${id} · ${tv(r.status)}`), h("progress", { max: 1, value: r.progress || 0 }),
      h("p", { class: "muted" }, Object.entries(r.stats || {}).filter(([, v]) => typeof v !== "object").slice(0, 8).map(([k, v]) => `${k}: ${v}`).join(" · ")));
    if (r.status !== "done") return;
    shown = true;
    const candidates = api.items(await api.get(`/tracing/requests/${id}/candidates`));
    append(detail, h("h3", {}, `${t("candidates")} (${candidates.length})`),
      h("ol", { class: "candidates" }, ...candidates.map((c) => candidateItem(c))));
  }

  function candidateItem(c) {
    const evidence = c.evidence || {};
    const words = evidence.summary || (evidence.reasons || []).join("; ");
    const state = h("span", { class: `state ${c.status}` }, t(c.status));
    const li = h("li", { class: "candidate", dataset: { candidateId: c.id } },
      h("div", {}, h("strong", {}, c.number_e164), ` · ${tv(c.kind)}${c.relationship ? ` (${c.relationship})` : ""} · ${t("score")} ${c.score.toFixed(2)} · `, state),
      h("p", { class: "evidence" }, words || "—"),
      (evidence.reasons || []).length > 1 ? h("ul", { class: "reasons" }, ...evidence.reasons.map((x) => h("li", {}, x))) : "",
      c.flags && c.flags.length ? h("p", { class: "muted" }, c.flags.join(", ")) : "");
    if (c.status === "proposed") {
      append(li, h("div", { class: "row" },
        h("button", { type: "button", class: "confirm primary", onclick: () => decide(c, "confirm", li) }, t("confirm")),
        h("button", { type: "button", class: "reject", onclick: () => decide(c, "reject", li) }, t("reject"))));
    }
    return li;
  }

  async function decide(c, action, li) {
    try {
      const body = action === "confirm" && c.kind !== "new_number" && !c.relationship ? { relationship: "other" } : {};
      const updated = await api.post(`/tracing/candidates/${c.id}/${action}`, body);
      li.replaceWith(candidateItem({ ...c, ...updated }));
      toast(`${t(action)} ✓`);
    } catch (e) { toast(`${t("refused")}: ${e.message}`, "error"); }
  }

  await loadList();
  return () => clearTimeout(timer);
}
