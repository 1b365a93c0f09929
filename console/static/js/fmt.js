// Times in the viewer's timezone; the debtor's local time beside it where the rules depend on it.
import { language } from "./i18n.js";

const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function dateTime(iso, zone = viewerZone) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(language(), {
    timeZone: zone, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  }).format(new Date(iso));
}

export function clock(iso, zone = viewerZone) {
  if (!iso) return "—";
  return new Intl.DateTimeFormat(language(), { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(iso));
}

// "14:05 (debtor 15:05 Asia/Tokyo)" only when the debtor's zone shows a different clock.
export function withDebtorTime(iso, debtorZone, label) {
  const mine = dateTime(iso);
  if (!debtorZone || !iso || clock(iso, debtorZone) === clock(iso)) return mine;
  return `${mine} (${label} ${clock(iso, debtorZone)} ${debtorZone})`;
}

export function countdown(iso, now = Date.now()) {
  if (!iso) return { text: "—", overdue: false };
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  const a = Math.abs(s);
  const text = `${Math.floor(a / 3600) ? Math.floor(a / 3600) + ":" : ""}${String(Math.floor(a / 60) % 60).padStart(2, "0")}:${String(a % 60).padStart(2, "0")}`;
  return { text: s < 0 ? `-${text}` : text, overdue: s < 0, seconds: s };
}

export function km(m) { return m == null ? "—" : `${(m / 1000).toFixed(1)} km`; }
export function hours(s) { return s == null ? "—" : `${Math.floor(s / 3600)}h${String(Math.round(s / 60) % 60).padStart(2, "0")}`; }
// The viewer's calendar day as YYYY-MM-DD (what a date input holds).
function day(d) {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}
export function today() { return day(new Date()); }
export function tomorrow() { return day(new Date(Date.now() + 86400000)); }
export { viewerZone };
