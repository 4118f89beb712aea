/**
 * mailauth without its BIMI code. mailauth's main module loads lib/bimi (BIMI records, VMC
 * certificate validation through @postalsys/vmc, SVG checks, undici for fetching) even when every
 * check runs with `disableBimi`, as ours do (src/smtp/authn.ts): ~100 ms of CPU at the first check
 * and ~11 MiB of heap in every worker that checks a sender, for code that never runs.
 *
 * skipBimi(), called before mailauth is first loaded, puts stand-ins for its two BIMI modules into
 * CommonJS's module cache, so mailauth's `require('./bimi')` gets them instead of loading them;
 * a stand-in throws if anything calls it. Only for the mailauth version this was checked against
 * (there, only lib/mailauth.js requires them: for `authenticate`'s BIMI step and to re-export
 * them; lib/commands/vmc.js is its CLI) — another version loads its own.
 */
import { Module } from "node:module";
import { requireCjs } from "../net/without-fetch.ts";

const CHECKED_VERSION = "7.1.0";

function standIn(name: string): () => never {
  return () => {
    throw new Error(`mailauth's ${name} is not loaded: BIMI is off (src/smtp/mailauth-without-bimi.ts)`);
  };
}

function cacheModule(file: string, exports: object): void {
  const m = new Module(file);
  m.filename = file;
  m.exports = exports;
  m.loaded = true;
  requireCjs.cache[file] = m;
}

/** true when the stand-ins are in place (mailauth not loaded yet and the version checked) */
export function skipBimi(): boolean {
  const { version } = requireCjs("mailauth/package.json") as { version: string };
  if (version !== CHECKED_VERSION || requireCjs.cache[requireCjs.resolve("mailauth")]) return false;
  cacheModule(requireCjs.resolve("mailauth/lib/bimi/index.js"), {
    bimi: standIn("bimi"),
    validateVMC: standIn("validateVMC"),
  });
  cacheModule(requireCjs.resolve("mailauth/lib/bimi/validate-svg.js"), {
    validateSvg: standIn("validateSvg"),
  });
  return true;
}
