// The console shell: login, the screens each role may use, hash routing, language switch.
import * as api from "./api.js";
import { append, clear, h, toast } from "./dom.js";
import { language, setLanguage, t } from "./i18n.js";

const SCREENS = {
  map: { roles: ["dispatcher", "supervisor"], load: () => import("./mapplan.js") },
  safety: { roles: ["dispatcher", "supervisor"], load: () => import("./safety.js") },
  review: { roles: ["supervisor", "admin"], load: () => import("./review.js") },
  tracing: { roles: ["tracer"], load: () => import("./tracing.js") },
  absences: { roles: ["dispatcher", "supervisor"], load: () => import("./absences.js") },
  address_review: { roles: ["dispatcher", "supervisor", "admin"], load: () => import("./addresses.js") },
  cases: { roles: ["dispatcher", "supervisor", "admin", "tracer"], load: () => import("./cases.js") },
};

const main = document.getElementById("main");
let teardown = null;

function allowed(role) { return Object.keys(SCREENS).filter((k) => SCREENS[k].roles.includes(role)); }

function header() {
  const s = api.current();
  const nav = clear(document.getElementById("nav"));
  document.getElementById("lang").textContent = t("lang");
  const out = document.getElementById("logout");
  out.textContent = t("logout");
  out.hidden = !s;
  document.getElementById("who").textContent = s ? `${s.name || s.username} · ${s.role}` : "";
  if (!s) return;
  for (const key of allowed(s.role)) nav.append(h("a", { href: `#/${key}`, id: `nav-${key}` }, t(key)));
}

function loginForm() {
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", id: "login-error" });
  const form = h("form", { id: "login", class: "card login" }, h("h2", {}, "FieldTrace"),
    h("label", {}, t("username"), user), h("label", {}, t("password"), pass),
    h("button", { type: "submit", class: "primary" }, t("login")), error);
  form.onsubmit = async (e) => {
    e.preventDefault();
    try { await api.login(user.value, pass.value); route(); }
    catch (err) { error.textContent = err.message; }
  };
  append(clear(main), form);
  user.focus();
}

async function route() {
  // Not ready until this render is done: a language switch re-renders the same screen in place.
  main.dataset.ready = "";
  if (teardown) { try { teardown(); } catch { /* already gone */ } teardown = null; }
  header();
  const s = api.current();
  if (!s) { loginForm(); return; }
  const [, name, arg] = (location.hash || "").split("/");
  const screens = allowed(s.role);
  if (!screens.length) { append(clear(main), h("p", { class: "card" }, `${s.role}: —`)); return; }
  const key = screens.includes(name) ? name : screens[0];
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.id === `nav-${key}`);
  clear(main);
  main.dataset.screen = key;
  try {
    const module = await SCREENS[key].load();
    teardown = (await module.render(main, arg)) || null;
    main.dataset.ready = key;
  } catch (e) { toast(e.message, "error"); }
}

document.getElementById("lang").onclick = () => { setLanguage(language() === "zh-CN" ? "en" : "zh-CN"); route(); };
document.getElementById("logout").onclick = () => { api.logout(); location.hash = ""; };
api.onAuthChange(() => header());
window.addEventListener("hashchange", route);
setLanguage(language());
route();
