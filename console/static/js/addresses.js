// Address review (dispatchers, supervisors, admins): door positions collectors proposed
// (GET /address-proposals), each on the map beside its address, confirmed or rejected; and the
// addresses still without a usable position (text only, or placed no better than the district), which
// a dispatcher places with a click on the map (PATCH lat/lon in the map's own coordinate system).
import * as api from "./api.js";
import { L, createMap, loadConfig, showExtent, toMap } from "./basemap.js";
import { append, clear, h, problem, toast } from "./dom.js";
import { dateTime } from "./fmt.js";
import { t, tv } from "./i18n.js";

const STATUSES = ["pending", "confirmed", "rejected"];
const UNROUTABLE = new Set(["district", "city"]);
const CASES_SHOWN = 50;

export async function render(root) {
  const panel = h("aside", { class: "panel" });
  const mapBox = h("div", { class: "map", id: "address-map" });
  append(clear(root), h("div", { class: "split" }, panel, mapBox));
  const map = await createMap(mapBox);
  const config = await loadConfig();
  const layer = L.layerGroup().addTo(map);
  const draftLayer = L.layerGroup().addTo(map);

  const statusSel = h("select", { name: "proposal-status" }, ...STATUSES.map((k) => h("option", { value: k }, tv(k))));
  const proposals = h("div", { id: "proposals" });
  const unlocated = h("div", { id: "unlocated" });
  const hint = h("p", { class: "muted", id: "place-hint", hidden: true }, t("click_map"));
  append(panel, h("h2", {}, t("address_review")),
    h("section", {}, h("h3", {}, t("proposals")), h("label", {}, t("status"), " ", statusSel), proposals),
    h("section", {}, h("h3", {}, t("unlocated")), hint, unlocated));
  statusSel.onchange = () => loadProposals();

  const users = new Map((await api.allPages("/users")).map((u) => [u.id, u.name]));
  const nameOf = (id) => users.get(id) || (id ? `#${id}` : "—");
  let placing = null; // {id, at}: the address the dispatcher is placing, and where they clicked
  // Reloads overlap (two decisions in a row): only the latest one draws its list.
  const latest = { proposals: 0, unlocated: 0 };

  map.on("click", (e) => {
    if (!placing) return;
    draftLayer.clearLayers();
    placing.at = e.latlng;
    L.circleMarker(e.latlng, { radius: 8, color: "#111827", fillColor: "#facc15", fillOpacity: 0.9, className: "draft" })
      .addTo(draftLayer);
    saveButton(placing.id).hidden = false;
  });

  async function loadProposals() {
    const mine = ++latest.proposals;
    const rows = await api.allPages("/address-proposals", { status: statusSel.value });
    if (mine !== latest.proposals) return;
    clear(proposals);
    layer.clearLayers();
    if (!rows.length) append(proposals, h("p", { class: "muted" }, t("none")));
    for (const p of rows) {
      const at = toMap(p.lat, p.lon);
      L.circleMarker(at, { radius: 8, color: "#ffffff", weight: 2, fillColor: "#0891b2", fillOpacity: 0.9,
        className: `proposal proposal-${p.id}` }).bindTooltip(`${p.address_text} · ±${Math.round(p.accuracy_m)} m`)
        .addTo(layer);
      append(proposals, proposalCard(p, at));
    }
    showExtent(map, rows.map((p) => toMap(p.lat, p.lon)));
  }

  function proposalCard(p, at) {
    const result = h("p", { class: "result" });
    const decide = (verb) => async () => {
      for (const b of card.querySelectorAll("button.decide")) b.disabled = true;
      try {
        const decided = await api.post(`/address-proposals/${p.id}/${verb}`);
        result.textContent = `${tv(decided.status)} · ${dateTime(decided.decided_at)}`;
        result.className = `result state ${decided.status}`;
        card.dataset.status = decided.status;
        toast(`${p.address_text}: ${tv(decided.status)}`);
        loadUnlocated();
      } catch (e) {
        result.textContent = `${t("refused")} (${e.status}): ${tv(e.code)} — ${problem(e)}`;
        result.className = "result error";
        for (const b of card.querySelectorAll("button.decide")) b.disabled = false;
      }
    };
    const card = h("div", { class: "request proposal-item", dataset: { proposalId: p.id, status: p.status } },
      h("strong", {}, p.address_text),
      h("dl", { class: "facts" },
        h("dt", {}, t("case")), h("dd", {}, h("a", { href: `#/cases/${p.case_id}` }, `#${p.case_id}`)),
        h("dt", {}, t("proposed_by")), h("dd", {}, nameOf(p.proposed_by_id)),
        h("dt", {}, t("accuracy")), h("dd", {}, `±${Math.round(p.accuracy_m)} m`),
        h("dt", {}, t("proposed_at")), h("dd", {}, dateTime(p.created_at)),
        p.status !== "pending" ? [h("dt", {}, t("decided")), h("dd", {}, `${tv(p.status)} · ${nameOf(p.decided_by_id)} · ${dateTime(p.decided_at)}`)] : null),
      h("div", { class: "row" },
        h("button", { type: "button", class: "link", onclick: () => map.setView(at, 17, { animate: false }) }, t("show")),
        p.status === "pending" ? [
          h("button", { type: "button", class: "decide confirm primary", onclick: decide("confirm") }, t("confirm")),
          h("button", { type: "button", class: "decide reject", onclick: decide("reject") }, t("reject"))] : null),
      result);
    return card;
  }

  async function loadUnlocated() {
    const mine = ++latest.unlocated;
    const cases = api.items(await api.get("/cases", { not_located: "true", page_size: CASES_SHOWN }));
    const lists = await Promise.all(cases.map((c) => api.allPages(`/cases/${c.id}/addresses`)
      .then((rows) => rows.filter((a) => a.current && (a.lat == null || UNROUTABLE.has(a.precision)))
        .map((a) => ({ ...a, case: c })))));
    const rows = lists.flat();
    if (mine !== latest.unlocated) return;
    clear(unlocated);
    // The address being placed keeps its place (and its Save button) through a reload; one gone is let go.
    if (placing && !rows.some((a) => a.id === placing.id)) { placing = null; hint.hidden = true; draftLayer.clearLayers(); }
    if (!rows.length) { append(unlocated, h("p", { class: "muted" }, t("none"))); return; }
    for (const a of rows) append(unlocated, unlocatedRow(a));
    if (placing && placing.at) saveButton(placing.id).hidden = false;
  }

  function saveButton(addressId) { return unlocated.querySelector(`.unlocated-item[data-address-id="${addressId}"] button.save`); }

  function unlocatedRow(a) {
    const result = h("span", { class: "result" });
    const save = h("button", { type: "button", class: "save primary", hidden: true }, t("save_position"));
    const place = h("button", { type: "button", class: "place" }, t("place_on_map"));
    place.onclick = () => {
      for (const b of unlocated.querySelectorAll("button.save")) b.hidden = true;
      draftLayer.clearLayers();
      placing = { id: a.id, at: null };
      hint.hidden = false;
      if (a.lat != null) map.setView(toMap(a.lat, a.lon), 14, { animate: false });
    };
    save.onclick = async () => {
      if (!placing || placing.id !== a.id || !placing.at) return;
      save.disabled = true;
      try {
        const changed = await api.request("PATCH", `/cases/${a.case.id}/addresses/${a.id}`, { json: {
          lat: placing.at.lat, lon: placing.at.lng, coord_sys: config.tile_coord_sys || "wgs84" } });
        result.textContent = `${t("position_saved")} · ${tv(changed.address.precision)}`;
        result.className = "result ok";
        row.dataset.status = changed.address.geocode_status;
        save.hidden = true; place.disabled = true;
        placing = null; hint.hidden = true;
        latest.unlocated++; // a reload that began before the save would list the address again
      } catch (e) {
        result.textContent = `${t("refused")} (${e.status}): ${problem(e)}`;
        result.className = "result error";
      } finally { save.disabled = false; }
    };
    const row = h("div", { class: "request unlocated-item", dataset: { addressId: a.id, status: a.geocode_status } },
      h("strong", {}, a.text),
      h("div", { class: "muted" }, h("a", { href: `#/cases/${a.case.id}` }, `${a.case.external_ref} · ${a.case.debtor_name}`),
        ` · ${tv(a.kind)} · ${t("geocode_status")}: ${tv(a.geocode_status)}`, a.precision ? ` · ${tv(a.precision)}` : ""),
      h("div", { class: "row" }, place, save, result));
    return row;
  }

  await Promise.all([loadProposals(), loadUnlocated()]);
  return () => map.remove();
}
