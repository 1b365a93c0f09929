// Pins (dispatchers, supervisors): a visit pinned to a collector (and a stop number) stays with them
// in every later plan. The API shows every pin, whoever set it (`GET /visits?pinned=true`, and `pin` on
// visits and route stops); the console re-reads them when a pin form opens and after every pin or unpin,
// so another dispatcher's pin is seen and a pin removed elsewhere is let go.
import * as api from "./api.js";
import { h, problem, refusal, toast } from "./dom.js";
import { dateTime } from "./fmt.js";
import { t } from "./i18n.js";

// The pin's mark on the map and in lists: a flag the common text fonts carry (📌 needs an emoji font).
export const PIN = "⚑";

// Every pinned visit's pin, by visit id: {visit_id, collector_id, position, pinned_by_id, created_at}.
export async function loadPins() {
  const rows = await api.allPages("/visits", { pinned: "true" }, 100000);
  return new Map(rows.map((v) => [v.id, v.pin]));
}

// "⚑ Pinned to Name · stop 2": what a pin says in a label.
export function pinText(pin, nameOf) {
  return `${PIN} ${t("pinned_to")} ${nameOf(pin.collector_id)}${pin.position ? ` · ${t("stop")} ${pin.position}` : ""}`;
}

// The pin form for one visit: a collector, an optional stop number, pin and unpin. pinOf(visitId) is the
// visit's pin as last read from the API; refresh() re-reads every pin (and redraws what shows them);
// nameOf names a collector, userName anyone (who pinned it). Every answer, refusals included, is written
// under the buttons once the pins have been re-read.
export function pinControls(visitId, { collectors, nameOf, userName, pinOf, refresh }) {
  const who = h("select", { name: "pin-collector" }, ...collectors.map((c) => h("option", { value: c.id }, c.name)));
  const position = h("input", { type: "number", name: "pin-position", min: 1, max: 1000, class: "narrow",
    placeholder: t("stop_number"), title: t("stop_number") });
  const label = h("p", { class: "pin-label", id: "pin-label" });
  const by = h("p", { class: "muted", id: "pin-by" });
  const result = h("p", { id: "pin-result" });
  const pinBtn = h("button", { type: "button", id: "pin", class: "primary" }, t("pin"));
  const unpinBtn = h("button", { type: "button", id: "unpin" }, t("unpin"));
  let shown; // the pinned collector last shown: a re-read that finds the same pin leaves the user's choice
  const show = () => {
    const pin = pinOf(visitId);
    label.textContent = pin ? pinText(pin, nameOf) : "";
    by.textContent = pin ? `${t("pinned_by")} ${userName(pin.pinned_by_id)} · ${dateTime(pin.created_at)}` : "";
    if (pin && pin.collector_id !== shown) who.value = String(pin.collector_id);
    shown = pin ? pin.collector_id : undefined;
  };
  const say = (text, kind) => { result.textContent = text; result.className = kind; };
  const act = async (work) => {
    pinBtn.disabled = unpinBtn.disabled = true; say("", "");
    let said;
    try { said = [await work(), "ok"]; }
    catch (e) {
      said = [refusal(e), "error"];
      toast(problem(e), "error");
    }
    try { await refresh(); } catch (e) { toast(e.message, "error"); }
    show(); say(...said);
    pinBtn.disabled = unpinBtn.disabled = false;
  };
  pinBtn.onclick = () => act(async () => {
    const body = { collector_id: Number(who.value) };
    if (position.value) body.position = Number(position.value);
    const pin = await api.post(`/visits/${visitId}/pin`, body);
    return `${t("pinned")}: ${nameOf(pin.collector_id)} — ${t("pin_holds")}`;
  });
  unpinBtn.onclick = () => act(async () => {
    const removed = await api.request("DELETE", `/visits/${visitId}/pin`);
    return `${t("unpinned")}: ${nameOf(removed.collector_id)}`;
  });
  show();
  // The form opens with the pin as the API has it now (another dispatcher may have changed it).
  refresh().then(show).catch(() => {});
  return h("div", { id: "pin-form", class: "pin-form", dataset: { visitId } },
    h("h4", {}, `${PIN} ${t("pin_to")}`), label, by, h("div", { class: "row" }, who, position, pinBtn, unpinBtn), result);
}
