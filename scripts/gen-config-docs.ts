/** Regenerates docs/config.md from the config schema (src/config/schema.ts). */
import { writeFileSync } from "node:fs";
import { renderConfigMarkdown } from "../src/config/render.ts";

const target = new URL("../docs/config.md", import.meta.url);
writeFileSync(target, renderConfigMarkdown());
console.log(`wrote ${target.pathname}`);
