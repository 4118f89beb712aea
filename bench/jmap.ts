/**
 * JMAP on a 100k-message INBOX (issue 12): `Email/query` (inMailbox, newest first, 50) with
 * `Email/get` of those 50 by result reference, in one request — the first request (cold: the
 * account view is built) and then warm rounds; and push latency both ways over the same store:
 * an IMAP STORE → the StateChange on an EventSource, and a JMAP Email/set (keyword) → the
 * `* n FETCH` an IMAP client in IDLE receives; the query alone with collapseThreads and
 * calculateTotal too; pages at position 0 and N − 50, Mailbox/get (every count) warm and right
 * after a change (a third of the messages unread, then 100), Email/queryChanges after one change.
 * Medians. The JMAP sub-app runs in this process
 * on @hono/node-server (the HTTP service's own layers — TLS, access log, limits — are left out).
 *
 *   node bench/jmap.ts [runs=7] [messages=100000]
 *   npm run bench -- --only jmap        (runs this with the defaults)
 */
import { rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { serve } from "@hono/node-server";
import { openFilledStore, serveFilled } from "./filled-store.ts";
import { RawImap } from "./imap-client.ts";

const RUNS = Number(process.argv[2] ?? 7);
const N = Number(process.argv[3] ?? 100_000);
const root = resolve(new URL("..", import.meta.url).pathname);
const { createJmapApp } = await import(`${root}/src/jmap/index.ts`);
const { configSchema } = await import(`${root}/src/config/index.ts`);
const { store, dir, accountId } = await openFilledStore(root, N, "pk-bench-jmap-");
const account = await store.getAccountById(accountId);
const silent = { info() {}, warn() {}, error: (o: object) => console.error(o) };
const app = createJmapApp({
  store,
  config: configSchema.parse({}),
  logger: silent,
  authenticate: async () => account,
});
const http = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 });
await new Promise<void>((r) => (http.listening ? r() : http.once("listening", () => r())));
const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
const jmapId = `A${accountId}`;
const USING = ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"];

// biome-ignore lint/suspicious/noExplicitAny: JMAP responses are read field by field
async function api(methodCalls: unknown[]): Promise<any[]> {
  const res = await fetch(`${base}/jmap/api`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ using: USING, methodCalls }),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { methodResponses: unknown[][] }).methodResponses;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
const ms = (x: number) => +x.toFixed(1);
const out: Record<string, unknown> = { messages: N, runs: RUNS };

// ---- Email/query + Email/get of 50 ----------------------------------------------------------
const inbox = (await api([["Mailbox/query", { accountId: jmapId, filter: { role: "inbox" } }, "m"]]))[0][1]
  .ids[0];
const queryGet = [
  [
    "Email/query",
    {
      accountId: jmapId,
      filter: { inMailbox: inbox },
      sort: [{ property: "receivedAt", isAscending: false }],
      limit: 50,
    },
    "q",
  ],
  [
    "Email/get",
    {
      accountId: jmapId,
      "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
      properties: [
        "id",
        "threadId",
        "mailboxIds",
        "keywords",
        "subject",
        "from",
        "receivedAt",
        "size",
        "preview",
      ],
    },
    "g",
  ],
];
const times: number[] = [];
for (let r = 0; r <= RUNS; r++) {
  const t0 = performance.now();
  const res = await api(queryGet);
  const dt = performance.now() - t0;
  if (res[1][1].list.length !== 50) throw new Error(`Email/get: ${res[1][1].list.length} emails, not 50`);
  if (r === 0) out.queryGetFirstMs = ms(dt);
  else times.push(dt);
}
out.queryGetMs = ms(median(times));
out.queryGet = times.map(ms);
// the two halves alone: where the time goes
const queryOnly: number[] = [];
const getOnly: number[] = [];
const ids = (await api([queryGet[0]!]))[0][1].ids as string[];
for (let r = 0; r < RUNS; r++) {
  let t0 = performance.now();
  await api([queryGet[0]!]);
  queryOnly.push(performance.now() - t0);
  t0 = performance.now();
  await api([["Email/get", { ...(queryGet[1]![1] as object), "#ids": undefined, ids }, "g"]]);
  getOnly.push(performance.now() - t0);
}
out.queryOnlyMs = ms(median(queryOnly));
out.getOnlyMs = ms(median(getOnly));
// the same page with collapseThreads and calculateTotal (a thread count over the mailbox)
const collapsed: number[] = [];
const collapsedQuery = [
  "Email/query",
  { ...(queryGet[0]![1] as object), collapseThreads: true, calculateTotal: true },
  "q",
];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  const res = await api([collapsedQuery]);
  collapsed.push(performance.now() - t0);
  if (res[0][1].ids.length !== 50) throw new Error(`collapsed Email/query: ${JSON.stringify(res[0][1])}`);
}
out.queryCollapsedTotalMs = ms(median(collapsed));

// ---- deep pages, Mailbox/get counts, queryChanges (issue 12, the webmail's scrolling) --------
// pages of 50 at position 0 and at the end (N − 50), warm; Mailbox/get (all properties, so every
// count) warm and right after a change (an Email/set keyword: the state moves); Email/queryChanges
// of the first page's state after one change (an error on trees without query states)
const page = (position: number) => [
  "Email/query",
  { ...(queryGet[0]![1] as object), position, calculateTotal: true },
  "q",
];
const timed = async (calls: unknown[]): Promise<[number, Awaited<ReturnType<typeof api>>]> => {
  const t0 = performance.now();
  const res = await api(calls);
  return [performance.now() - t0, res];
};
const pos0: number[] = [];
const posEnd: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const [a, ra] = await timed([page(0)]);
  pos0.push(a);
  const [b, rb] = await timed([page(N - 50)]);
  posEnd.push(b);
  if (ra[0][1].ids?.length !== 50 || rb[0][1].ids?.length !== 50)
    throw new Error(`deep page: ${JSON.stringify(rb[0][1]).slice(0, 300)}`);
}
out.queryPos0Ms = ms(median(pos0));
out.queryPosEndMs = ms(median(posEnd));
const mailboxGet = [["Mailbox/get", { accountId: jmapId, ids: null }, "m"]];
const mbWarm: number[] = [];
const mbAfter: number[] = [];
const qChanges: number[] = [];
for (let r = 0; r <= RUNS; r++) {
  const state = (await api([page(0)]))[0][1].queryState;
  const set = await api([
    [
      "Email/set",
      // one Email read and unread in turn (a seen row: every round is a change)
      { accountId: jmapId, update: { [`M${N - 201}`]: { "keywords/$seen": r % 2 === 0 ? null : true } } },
      "s",
    ],
  ]);
  if (set[0][1].updated === null) throw new Error(`Email/set: ${JSON.stringify(set[0][1])}`);
  const [c, rc] = await timed([
    ["Email/queryChanges", { ...(page(0)[1] as object), sinceQueryState: state }, "c"],
  ]);
  const [a, ra] = await timed(mailboxGet);
  const [b] = await timed(mailboxGet);
  if (typeof ra[0][1].list?.[0]?.totalEmails !== "number")
    throw new Error(JSON.stringify(ra[0][1]).slice(0, 300));
  if (r === 0) continue;
  mbAfter.push(a);
  mbWarm.push(b);
  if (rc[0][0] === "Email/queryChanges") qChanges.push(c);
}
out.mailboxGetAfterChangeMs = ms(median(mbAfter));
out.mailboxGetWarmMs = ms(median(mbWarm));
out.queryChangesMs = qChanges.length ? ms(median(qChanges)) : null;

// ---- push IMAP STORE → EventSource ----------------------------------------------------------
const imapSrv = await serveFilled(root, store);
const imap = await RawImap.connect(imapSrv.port);
await imap.command("LOGIN u@example.com pw");
await imap.command("SELECT INBOX");
const es = await fetch(`${base}/jmap/eventsource?types=Email&closeafter=no&ping=0`);
const reader = es.body!.getReader();
let text = "";
let stateAt = 0;
let onState: (() => void) | null = null;
void (async () => {
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) return;
    text += Buffer.from(value!).toString("utf8");
    let i = text.indexOf("event: state");
    while (i >= 0) {
      stateAt = performance.now();
      text = text.slice(i + 12);
      const w = onState as (() => void) | null;
      onState = null;
      w?.();
      i = text.indexOf("event: state");
    }
  }
})();
while (!text.includes(": subscribed")) await new Promise((r) => setTimeout(r, 10));
const toJmap: number[] = [];
for (let r = 0; r <= RUNS; r++) {
  const seen = new Promise<void>((res, rej) => {
    onState = res;
    setTimeout(() => rej(new Error(`no StateChange within 5 s: ${JSON.stringify(text)}`)), 5000);
  });
  const t0 = performance.now();
  await imap.command(`STORE ${N - r} +FLAGS (\\Flagged)`);
  await seen;
  if (r > 0) toJmap.push(stateAt - t0);
}
out.pushImapToJmapMs = ms(median(toJmap));
await reader.cancel().catch(() => {});

// ---- push JMAP Email/set → IMAP IDLE ----------------------------------------------------------
const idler = await RawImap.connect(imapSrv.port);
await idler.command("LOGIN u@example.com pw");
await idler.command("SELECT INBOX");
idler.write("idle1 IDLE\r\n");
await idler.readLine();
let fetchAt = 0;
let onFetch: (() => void) | null = null;
idler.onUntagged = (line) => {
  if (/^\* \d+ FETCH/.test(line.toString())) {
    fetchAt = performance.now();
    const w = onFetch as (() => void) | null;
    onFetch = null;
    w?.();
  }
};
const toImap: number[] = [];
for (let r = 0; r <= RUNS; r++) {
  const seen = new Promise<void>((res, rej) => {
    onFetch = res;
    setTimeout(() => rej(new Error("no FETCH within 5 s")), 5000);
  });
  const t0 = performance.now();
  // a synthetic row's JMAP id is M<uid> (bench/filled-store.ts)
  await api([
    ["Email/set", { accountId: jmapId, update: { [`M${N - 100 - r}`]: { "keywords/$flagged": true } } }, "s"],
  ]);
  await seen;
  if (r > 0) toImap.push(fetchAt - t0);
}
out.pushJmapToImapMs = ms(median(toImap));

// ---- Mailbox/get after a change with 100 unread (the filled store has a third unread) -------
idler.write("DONE\r\n");
await imap.command("STORE 1:* +FLAGS.SILENT (\\Seen)");
await imap.command("STORE 1:100 -FLAGS.SILENT (\\Seen)");
await api(mailboxGet);
const fewUnread: number[] = [];
for (let r = 0; r <= RUNS; r++) {
  await api([
    [
      "Email/set",
      { accountId: jmapId, update: { [`M${N - 201}`]: { "keywords/$seen": r % 2 === 0 ? null : true } } },
      "s",
    ],
  ]);
  const [a, ra] = await timed(mailboxGet);
  if (r > 0) fewUnread.push(a);
  if (r === RUNS)
    out.unreadAfter = ra[0][1].list.find((m: { role: string }) => m.role === "inbox").unreadEmails;
}
out.mailboxGetAfterChange100UnreadMs = ms(median(fewUnread));

console.log(JSON.stringify(out));
idler.close();
imap.close();
imapSrv.close();
(http as import("node:http").Server).closeAllConnections();
http.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
