/**
 * The discovery routes: Thunderbird autoconfig, Microsoft Autodiscover (POX and JSON v2), the
 * MTA-STS policy file and the Apple profile. Answers only for hosted domains (404 otherwise);
 * the documents are built by autoconfig.ts, mobileconfig.ts and mta-sts.ts.
 */
import type { Context, Hono } from "hono";
import type { Authenticator } from "../auth/index.ts";
import type { ResolvedConfig } from "../config/index.ts";
import type { Store } from "../store/types.ts";
import {
  autodiscoverError,
  autodiscoverJson,
  autodiscoverRequestAddress,
  autodiscoverXml,
  domainOfAddress,
  hostOnly,
  requestDomain,
  thunderbirdConfig,
} from "./autoconfig.ts";
import { type Env, isTls, readBodyText, remoteAddress, tooLarge } from "./middleware.ts";
import { mobileconfig } from "./mobileconfig.ts";
import { mtaStsPolicy } from "./mta-sts.ts";

const XML = "application/xml; charset=utf-8";

export interface DiscoveryDeps {
  config: ResolvedConfig;
  store: Store;
  auth: Authenticator;
}

/** HTTP Basic credentials (RFC 7617 §2, UTF-8); null when absent or malformed. */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  if (!header) return null;
  const sp = header.indexOf(" ");
  if (sp < 0 || header.slice(0, sp).toLowerCase() !== "basic") return null;
  const b64 = header.slice(sp + 1).trim();
  if (b64.length === 0 || b64.length > 2048) return null;
  const text = Buffer.from(b64, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon <= 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

export function mountDiscovery(app: Hono<Env>, d: DiscoveryDeps): void {
  const { config, store } = d;
  const hosted = async (domain: string | null): Promise<boolean> =>
    domain !== null && domain.length <= 253 && (await store.getDomain(domain)) !== null;

  // Thunderbird looks at autoconfig.<domain>/mail/config-v1.1.xml and
  // <domain>/.well-known/autoconfig/mail/config-v1.1.xml, with ?emailaddress=
  const thunderbird = async (c: Context<Env>) => {
    const domain = requestDomain(c.req.query("emailaddress"), c.req.header("host"), "autoconfig");
    if (!(await hosted(domain))) return c.notFound();
    c.header("Cache-Control", "max-age=3600");
    return c.body(thunderbirdConfig(config, domain!), 200, { "Content-Type": XML });
  };
  app.get("/.well-known/autoconfig/mail/config-v1.1.xml", thunderbird);
  app.get("/mail/config-v1.1.xml", thunderbird);

  // Outlook POSTs the POX request (Content-Type text/xml) to autodiscover.<domain> and <domain>
  const pox = async (c: Context<Env>) => {
    if (c.req.method !== "POST")
      return c.body(autodiscoverError(600, "Invalid Request"), 400, { "Content-Type": XML });
    const max = config.http.limits.max_body_size;
    const body = await readBodyText(c, max);
    if (body === null) return tooLarge(c, max);
    const address = autodiscoverRequestAddress(body);
    if (!address) return c.body(autodiscoverError(600, "Invalid Request"), 400, { "Content-Type": XML });
    if (!(await hosted(domainOfAddress(address)))) return c.notFound();
    return c.body(autodiscoverXml(config, address), 200, { "Content-Type": XML });
  };
  for (const p of ["/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"]) app.all(p, pox);

  // Autodiscover v2: where the v1 (POX) endpoint is
  const v2 = async (c: Context<Env>, email: string | undefined) => {
    if (!(await hosted(email ? domainOfAddress(email) : null))) return c.notFound();
    const r = autodiscoverJson(config, c.req.query("Protocol") ?? c.req.query("protocol") ?? "");
    return c.json(r.body, r.status);
  };
  for (const p of ["/autodiscover/autodiscover.json", "/Autodiscover/Autodiscover.json"]) {
    app.get(p, (c) => v2(c, c.req.query("Email") ?? c.req.query("email")));
    app.get(`${p}/v1.0/:email`, (c) => v2(c, c.req.param("email")));
  }

  // RFC 8461 §3.3: https://mta-sts.<domain>/.well-known/mta-sts.txt, text/plain
  app.get("/.well-known/mta-sts.txt", async (c) => {
    const host = hostOnly(c.req.header("host") ?? "");
    const domain = host.startsWith("mta-sts.") ? host.slice("mta-sts.".length) : null;
    if (!(await hosted(domain))) return c.notFound();
    return c.body(mtaStsPolicy(config), 200, { "Content-Type": "text/plain; charset=utf-8" });
  });

  // Apple profile for the logged-in user: Basic credentials, over TLS only (RFC 7617 §4)
  app.get("/mail.mobileconfig", async (c) => {
    if (!isTls(c)) return c.text("HTTPS required\n", 403);
    const cred = basicCredentials(c.req.header("authorization"));
    const account = cred
      ? await d.auth.verifyPassword(cred.user, cred.password, {
          protocol: "http",
          remoteAddress: remoteAddress(c),
        })
      : null;
    if (!account) {
      c.header("WWW-Authenticate", `Basic realm="${config.hostname.replaceAll('"', "")}", charset="UTF-8"`);
      return c.text("Authentication required\n", 401);
    }
    const profile = mobileconfig(config, account.address);
    if (!profile) return c.notFound();
    c.header("Cache-Control", "no-store");
    c.header("Content-Disposition", 'attachment; filename="mail.mobileconfig"');
    return c.body(profile, 200, { "Content-Type": "application/x-apple-aspen-config" });
  });
}
