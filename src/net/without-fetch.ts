/**
 * Loading what reaches node:http without loading Node's fetch (undici: ~6 MiB of code and heap in
 * every process that loads it). An ES-module import of a Node builtin reads every export of it,
 * and node:http's `WebSocket` export is a getter that loads undici — so `import … from
 * "node:http"`, in our code or in a package's ESM build (smtp-server → nodemailer's shared
 * helpers → its fetch), costs each worker that memory at start. CommonJS `require` and
 * process.getBuiltinModule hand out the builtin's object without reading its getters.
 * docs/architecture.md "Process layout".
 */
import { createRequire } from "node:module";

/** `require` for packages loaded through their CommonJS build (smtp-server, nodemailer) */
export const requireCjs = createRequire(import.meta.url);

/** node:http's module object, its lazy exports (WebSocket, …) left unread */
export const nodeHttp: typeof import("node:http") = process.getBuiltinModule("node:http");
