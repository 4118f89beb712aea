/**
 * smtp-server's classes, loaded through the package's CommonJS build: its ESM build imports
 * nodemailer's shared helpers, whose ESM `import http from "node:http"` would load Node's fetch
 * in every worker (src/net/without-fetch.ts). server.ts and burl.ts adapt SMTPConnection's
 * prototype: the one SMTPServer uses, as both come from the same CommonJS module cache.
 */

import type * as ServerModule from "smtp-server";
import type * as ConnectionModule from "smtp-server/lib/smtp-connection.js";
import { requireCjs } from "../net/without-fetch.ts";

export const { SMTPServer } = requireCjs("smtp-server") as typeof ServerModule;
export type SMTPServer = ServerModule.SMTPServer;
export const { SMTPConnection } = requireCjs("smtp-server/lib/smtp-connection.js") as typeof ConnectionModule;
