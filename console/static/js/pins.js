// Pins (dispatchers, supervisors): a visit pinned to a collector (and a stop number) stays with them
// in every later plan. POST/DELETE /visits/{id}/pin; the API has no list of pins, so the console
// remembers the pins this tab set or removed (sessionStorage) and forgets one the API says is gone.
import * as api from "./api.js";
import { h, problem, toast } from "./dom.js";
import { t, tv } from "./i18n.js";

const KEY = "fieldtrace.pins";
// The pin's mark on the map and in lists: a flag the common text fonts carry (📌 needs an emoji font).
export const PIN = "⚑";
const pins = new Map(JSON.parse(sessionStorage.getItem(KEY) || "[]"));

function save() { sessionStorage.setItem(KEY, JSON.stringify([...pins])); }

// The pin of a visit as this tab knows it: {collector_id, position} or undefined.
export function pinOf(visitId) { return pins.get(visitId); }

// The pin form for one visit: a collector, an optional stop number, pin and unpin. Every answer,
// refusals included, is written under the buttons; onChange runs after the API changed a pin.
export function pinControls(visitId, collectors, nameOf, onChange) {
  const who = h("select", { name: "pin-collector" }, ...collectors.map((c) => h("option", { value: c.id }, c.name)));
  const position = h("input", { type: "number", name: "pin-position", min: 1, max: 1000, class: "narrow",
    placeholder: t("stop_number"), title: t("stop_number") });
  const label = h("p", { class: "pin-label", id: "pin-label" });
  const result = h("p", { id: "pin-result" });
  const pinBtn = h("button", { type: "button", id: "pin", class: "primary" }, t("pin"));
  const unpinBtn = h("button", { type: "button", id: "unpin" }, t("unpin"));
  const show = () => {
    const pin = pins.get(visitId);
    label.textContent = pin ? `${PIN} ${t("pinned_to")} ${nameOf(pin.collector_id)}${pin.position ? ` · ${t("stop")} ${pin.position}` : ""}` : "";
    if (pin) who.value = String(pin.collector_id);
  };
  const say = (text, kind) => { result.textContent = text; result.className = kind; };
  const act = async (work) => {
    pinBtn.disabled = unpinBtn.disabled = true; say("", "");
    try { await work(); show(); onChange(); }
    catch (e) {
      say(`${t("refused")} (${e.status}): ${tv(e.code)} — ${problem(e)}`, "error");
      toast(problem(e), "error");
    } finally { pinBtn.disabled = unpinBtn.disabled = false; }
  };
  pinBtn.onclick = () => act(async () => {
    const body = { collector_id: Number(who.value) };
    if (position.value) body.position = Number(position.value);
    const pin = await api.post(`/visits/${visitId}/pin`, body);
    pins.set(visitId, { collector_id: pin.collector_id, position: pin.position }); save();
    say(`${t("pinned")}: ${nameOf(pin.collector_id)} — ${t("pin_holds")}`, "ok");
  });
  unpinBtn.onclick = () => act(async () => {
    let removed;
    try { removed = await api.request("DELETE", `/visits/${visitId}/pin`); }
    catch (e) {
      // No pin there (removed elsewhere, or never set): forget it here too, and say what the API said.
      if (e.status === 404 && pins.delete(visitId)) { save(); show(); onChange(); }
      throw e;
    }
    pins.delete(visitId); save();
    say(`${t("unpinned")}: ${nameOf(removed.collector_id)}`, "ok");
  });
  show();
  return h("div", { id: "pin-form", class: "pin-form", dataset: { visitId } },
    h("h4", {}, `${PIN} ${t("pin_to")}`), label, h("div", { class: "row" }, who, position, pinBtn, unpinBtn), result);
}
