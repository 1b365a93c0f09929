// Absences (dispatchers, supervisors): per collector, the recorded days off; record one (a date and a
// reason: that day's assigned visits go back to the pool at once, and the console says which) and
// remove one (the released visits stay in the pool for the next plan). Refusals are shown as sent.
import * as api from "./api.js";
import { append, clear, h, refusal } from "./dom.js";
import { dateTime, tomorrow } from "./fmt.js";
import { t } from "./i18n.js";

export async function render(root, arg) {
  const list = h("ul", { class: "list collectors", id: "absence-collectors" });
  const detail = h("div", { id: "absence-detail" });
  append(clear(root), h("div", { class: "split-even" },
    h("section", {}, h("h2", {}, t("absences")), h("p", { class: "muted" }, t("choose_collector")), list), detail));
  const users = await api.allPages("/users");
  const names = new Map(users.map((u) => [u.id, u.name]));
  const collectors = users.filter((u) => u.role === "collector" && u.active);
  for (const u of collectors) {
    append(list, h("li", {}, h("a", { href: `#/absences/${u.id}`, class: "collector", dataset: { collectorId: u.id } },
      u.name), h("span", { class: "muted" }, ` · ${u.username}`)));
  }
  if (collectors.some((u) => u.id === Number(arg))) await show(Number(arg));

  async function show(collectorId) {
    for (const a of list.querySelectorAll("a.collector")) a.classList.toggle("on", Number(a.dataset.collectorId) === collectorId);
    clear(detail);
    const day = h("input", { type: "date", name: "date", value: tomorrow(), required: true });
    const reason = h("input", { name: "reason", maxlength: "500", placeholder: t("reason"), required: true });
    const submit = h("button", { type: "submit", class: "primary", id: "record-absence" }, t("record_absence"));
    const result = h("p", { id: "absence-result" });
    const rows = h("div", { id: "absence-list" });
    const say = (text, kind) => { result.textContent = text; result.className = kind; };
    const form = h("form", { class: "card", id: "absence-form" },
      h("div", { class: "row" }, h("label", {}, t("absent_on"), " ", day), h("label", {}, t("reason"), " ", reason), submit),
      result);
    form.onsubmit = async (e) => {
      e.preventDefault();
      submit.disabled = true; say("", "");
      try {
        const absence = await api.post(`/collectors/${collectorId}/absences`, { date: day.value, reason: reason.value });
        const released = absence.released_visit_ids || [];
        say(`${t("absence_recorded")} ${absence.date}: ` + (released.length
          ? `${t("released_to_pool")} (${released.length}): ${released.map((id) => `#${id}`).join(", ")}`
          : t("none_released")), "ok");
        reason.value = "";
        await load();
      } catch (err) { say(refusal(err), "error"); }
      finally { submit.disabled = false; }
    };
    append(detail, h("h2", {}, names.get(collectorId)), form, rows);

    async function load() {
      clear(rows);
      const absences = await api.allPages(`/collectors/${collectorId}/absences`);
      if (!absences.length) { append(rows, h("p", { class: "muted" }, t("none"))); return; }
      append(rows, h("table", { class: "grid" },
        h("thead", {}, h("tr", {}, ...["date", "reason", "recorded_by", "when", ""].map((k) => h("th", {}, k && t(k))))),
        h("tbody", {}, ...absences.map((a) => h("tr", { class: "absence", dataset: { date: a.date } },
          h("td", {}, a.date), h("td", {}, a.reason), h("td", {}, names.get(a.created_by_id) || `#${a.created_by_id ?? "—"}`),
          h("td", {}, dateTime(a.created_at)),
          h("td", {}, h("button", { type: "button", class: "remove", onclick: async (e) => {
            e.target.disabled = true; say("", "");
            try {
              await api.request("DELETE", `/collectors/${collectorId}/absences/${a.date}`);
              say(`${t("absence_removed")} ${a.date}: ${t("stays_in_pool")}`, "ok");
              await load();
            } catch (err) { say(refusal(err), "error"); e.target.disabled = false; }
          } }, t("remove"))))))));
    }
    await load();
  }
}
