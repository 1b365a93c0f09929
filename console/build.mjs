// Build the console: copy the npm packages the browser loads into static/vendor/ (no CDN at run
// time). Run by scripts/lib.sh (ensure_console) after `npm ci`; safe to run again.
import { cpSync, mkdirSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const vendor = join(here, "static", "vendor");
const leaflet = join(here, "node_modules", "leaflet");

rmSync(vendor, { recursive: true, force: true });
mkdirSync(join(vendor, "leaflet"), { recursive: true });
for (const file of ["leaflet-src.esm.js", "leaflet.css"]) {
  cpSync(join(leaflet, "dist", file), join(vendor, "leaflet", file));
}
cpSync(join(leaflet, "dist", "images"), join(vendor, "leaflet", "images"), { recursive: true });
const version = JSON.parse(readFileSync(join(leaflet, "package.json"), "utf8")).version;
writeFileSync(join(vendor, "BUILT"), `leaflet ${version}\n`);
console.log(`console: vendored leaflet ${version} into static/vendor/`);
