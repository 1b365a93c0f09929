// The base map: tiles from the configured URL; when none load, a plain background that still shows
// the data's extent. AMap-style GCJ-02 tiles get positions shifted onto them.
import * as L from "../vendor/leaflet/leaflet-src.esm.js";
import { t } from "./i18n.js";
import { h } from "./dom.js";

let config = null;
export async function loadConfig() {
  if (!config) config = await (await fetch("/console/config.json", { credentials: "omit" })).json();
  return config;
}

// WGS-84 → GCJ-02 (the published formula; identity outside China).
function outOfChina(lat, lon) { return !(lon > 72.004 && lon < 137.8347 && lat > 0.8293 && lat < 55.8271); }
function tlat(x, y) {
  let r = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
  r += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
  return r;
}
function tlon(x, y) {
  let r = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  r += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
  r += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
  r += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
  return r;
}
function wgsToGcj(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  const a = 6378245.0, ee = 0.00669342162296594323;
  const rad = (lat / 180) * Math.PI;
  let m = Math.sin(rad); m = 1 - ee * m * m;
  const s = Math.sqrt(m);
  const dLat = (tlat(lon - 105, lat - 35) * 180) / (((a * (1 - ee)) / (m * s)) * Math.PI);
  const dLon = (tlon(lon - 105, lat - 35) * 180) / ((a / s) * Math.cos(rad) * Math.PI);
  return [lat + dLat, lon + dLon];
}

export function toMap(lat, lon) {
  return config && config.tile_coord_sys === "gcj02" ? wgsToGcj(lat, lon) : [lat, lon];
}

export async function createMap(container) {
  await loadConfig();
  const map = L.map(container, { zoomControl: true, boxZoom: false, zoomAnimation: false, fadeAnimation: false, markerZoomAnimation: false }).setView([30.66, 104.06], 11);
  const tiles = L.tileLayer(config.tile_url, { maxZoom: 19, attribution: config.tile_attribution, crossOrigin: false });
  let loaded = 0;
  tiles.on("tileload", () => { loaded++; container.classList.remove("offline"); note.hidden = true; });
  tiles.on("tileerror", () => { if (!loaded) { container.classList.add("offline"); note.hidden = false; } });
  tiles.addTo(map);
  const note = h("div", { class: "offline-note", hidden: true }, t("tiles_offline"));
  container.append(note);
  setTimeout(() => { if (!loaded) { container.classList.add("offline"); note.hidden = false; } }, 4000);
  map._extentLayer = L.layerGroup().addTo(map);
  return map;
}

// The data's extent as an outline (what a plain background needs to be readable), and fit to it.
export function showExtent(map, latlngs) {
  map._extentLayer.clearLayers();
  if (!latlngs.length) return;
  const bounds = L.latLngBounds(latlngs).pad(0.05);
  L.rectangle(bounds, { color: "#64748b", weight: 1, dashArray: "6 4", fill: false, interactive: false,
    className: "extent" }).addTo(map._extentLayer);
  map.fitBounds(bounds, { animate: false, maxZoom: 16 });
}

export { L };
