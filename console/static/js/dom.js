import { t, tcode } from "./i18n.js";

// A tiny element builder: text always goes in as text (no innerHTML), so data cannot become markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toast");
  const line = h("div", { class: `toast ${kind}` }, message);
  box.append(line);
  setTimeout(() => line.remove(), kind === "error" ? 8000 : 4000);
}

// Save text as a file through a blob: URL (same origin; nothing leaves the page).
export function download(name, text, type = "text/csv;charset=utf-8") {
  const url = URL.createObjectURL(new Blob(["\ufeff", text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function toCsv(rows, columns) {
  const cell = (v) => {
    const s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return [columns.join(","), ...rows.map((r) => columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}

// An API error as the user reads it: the server's message, and the fields it names when the message
// does not already say them (a 422 names its field, a 409 its rule).
export function problem(error) {
  const fields = Object.entries((error && error.fields) || {})
    .map(([field, why]) => `${field}: ${Array.isArray(why) ? why.join(", ") : why}`)
    .filter((text) => !String(error.message).includes(text));
  return [error.message, ...fields].join(" · ");
}

// A refused action as the user reads it: the status, the rule's code translated, and the problem.
export function refusal(error) {
  return `${t("refused")} (${error.status}): ${tcode(error.code)} — ${problem(error)}`;
}
