// Address review (dispatchers, supervisors, admins): door positions collectors proposed
// (GET /address-proposals), each on the map beside the address's current position, confirmed or
// rejected; and the addresses still without a usable position (GET /addresses?awaiting_position=true,
// page by page: text only, or placed no better than the district), which a dispatcher places with a
// click on the map (PATCH lat/lon in the map's own coordinate system).
import * as api from "./api.js";
import { L, createMap, loadConfig, showExtent, toMap } from "./basemap.js";
import { append, clear, h, problem, refusal, toast } from "./dom.js";
import { dateTime, km } from "./fmt.js";
import { t, tv } from "./i18n.js";

const STATUSES = ["pending", "confirmed", "rejected"];
const PAGE_SIZE = 20;

// Metres between two WGS-84 positions (haversine), written as the card reads it.
function apart(a, b) {
  const rad = Math.PI / 180, dLat = (b.lat - a.lat) * rad, dLon = (b.lon - a.lon) * rad;
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  const m = 2 * 6371008.8 * Math.asin(Math.sqrt(x));
  return m < 1000 ? `${Math.round(m)} m` : km(m);
}

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
  const prev = h("button", { type: "button", id: "unlocated-prev" }, `‹ ${t("prev_page")}`);
  const next = h("button", { type: "button", id: "unlocated-next" }, `${t("next_page")} ›`);
  const pageText = h("span", { class: "muted", id: "unlocated-page" });
  append(panel, h("h2", {}, t("address_review")),
    h("section", {}, h("h3", {}, t("proposals")), h("label", {}, t("status"), " ", statusSel), proposals),
    h("section", {}, h("h3", {}, t("unlocated")), hint, h("div", { class: "row pager" }, prev, pageText, next),
      unlocated));
  // A list that fails to load says so (the API's words), rather than leaving the last one up unexplained.
  const failed = (e) => toast(`${e.status ? `(${e.status}) ` : ""}${problem(e)}`, "error");
  statusSel.onchange = () => loadProposals().catch(failed);
  let page = 1;
  prev.onclick = () => { page -= 1; loadUnlocated().catch(failed); };
  next.onclick = () => { page += 1; loadUnlocated().catch(failed); };

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
      const at = toMap(p.lat, p.lon), now = p.current_position;
      if (now) {  // where the address stands now, joined to the proposed door
        const was = toMap(now.lat, now.lon);
        L.polyline([was, at], { color: "#64748b", weight: 1, dashArray: "4 4", interactive: false,
          className: `proposal-offset offset-${p.id}` }).addTo(layer);
        L.circleMarker(was, { radius: 6, color: "#ffffff", weight: 2, fillColor: "#94a3b8", fillOpacity: 0.9,
          className: `current-position current-${p.id}` })
          .bindTooltip(h("span", {}, `${t("current_position")} · ${p.address_text} · ${tv(now.precision)} · ${tv(now.source)}`)).addTo(layer);
      }
      L.circleMarker(at, { radius: 8, color: "#ffffff", weight: 2, fillColor: "#0891b2", fillOpacity: 0.9,
        className: `proposal proposal-${p.id}` })
        .bindTooltip(h("span", {}, `${t("proposed_position")} · ${p.address_text} · ±${Math.round(p.accuracy_m)} m`)).addTo(layer);
      append(proposals, proposalCard(p, at));
    }
    showExtent(map, rows.flatMap((p) => [toMap(p.lat, p.lon)]
      .concat(p.current_position ? [toMap(p.current_position.lat, p.current_position.lon)] : [])));
  }

  // The address's position now, beside the proposal: how precise, who placed it, how far the door is from it.
  function currentText(p) {
    const now = p.current_position;
    if (!now) return `${t("no_position")} (${tv(p.address_geocode_status)})`;
    return `${tv(now.precision)} · ${tv(now.source)} · ${t("apart")} ${apart(now, p)}`;
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
        card.querySelector("dd.current").textContent = currentText(decided);
        toast(`${p.address_text}: ${tv(decided.status)}`);
        loadUnlocated().catch(failed);
      } catch (e) {
        result.textContent = refusal(e);
        result.className = "result error";
        for (const b of card.querySelectorAll("button.decide")) b.disabled = false;
      }
    };
    const card = h("div", { class: "request proposal-item", dataset: { proposalId: p.id, status: p.status } },
      h("strong", {}, p.address_text),
      p.address_superseded && p.status === "pending" ? h("p", { class: "error superseded" }, tv("address_superseded")) : null,
      h("dl", { class: "facts" },
        h("dt", {}, t("case")), h("dd", {}, h("a", { href: `#/cases/${p.case_id}`, class: "case-ref" }, p.case_external_ref),
          ` · ${tv(p.address_kind)}`),
        h("dt", {}, t("current_position")), h("dd", { class: "current" }, currentText(p)),
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
    const body = await api.get("/addresses", { awaiting_position: "true", page, page_size: PAGE_SIZE });
    if (mine !== latest.unlocated) return;
    const pages = Math.max(1, Math.ceil(body.total / PAGE_SIZE));
    if (page > pages) { page = pages; return loadUnlocated(); } // the last page emptied: show the one before
    const rows = body.items;
    pageText.textContent = ` ${t("page")} ${page}/${pages} · ${t("total")} ${body.total} `;
    prev.disabled = page <= 1; next.disabled = page >= pages;
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
        const changed = await api.request("PATCH", `/cases/${a.case_id}/addresses/${a.id}`, { json: {
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
      h("div", { class: "muted" }, h("a", { href: `#/cases/${a.case_id}` }, `${a.case_external_ref} · ${a.debtor_name}`),
        ` · ${tv(a.kind)} · ${t("geocode_status")}: ${tv(a.geocode_status)}`, a.precision ? ` · ${tv(a.precision)}` : ""),
      h("div", { class: "row" }, place, save, result));
    return row;
  }

  await Promise.all([loadProposals(), loadUnlocated()]);
  return () => map.remove();
}
