import { randomBytes } from "node:crypto";
import { FsBlobStore } from "../blob/fs.ts";
import { fixture, msg } from "./helpers.ts";

const f = await fixture();
const s = f.store;
await s.append(f.accountId, f.inbox, { raw: msg() });
let t = performance.now();
for (let i = 0; i < 200; i++) await s.storeFlags(f.inbox, [1], i % 2 ? "add" : "remove", ["\\Seen"]);
console.log("storeFlags tx", ((performance.now() - t) / 200).toFixed(2), "ms");
const b = new FsBlobStore(f.dir + "/blobs2");
// pre-create all dirs
const datas = Array.from({ length: 200 }, () => randomBytes(2000));
const { createHash } = await import("node:crypto");
for (const d of datas) {
  const id = createHash("sha256").update(d).digest("hex");
  await import("node:fs").then((fs) => fs.mkdirSync(b.dirOf(id), { recursive: true }));
}
t = performance.now();
for (const d of datas) await b.put(d);
console.log("blob put (dirs exist, uncached)", ((performance.now() - t) / 200).toFixed(2), "ms");
const { parseMessage, searchText } = await import("../../mime/index.ts");
const raw = msg();
t = performance.now();
for (let i = 0; i < 1000; i++) searchText(raw, parseMessage(raw));
console.log("parse+searchText", ((performance.now() - t) / 1000).toFixed(3), "ms");
t = performance.now();
for (let i = 0; i < 200; i++) await s.append(f.accountId, f.inbox, { raw: msg() });
console.log("append", ((performance.now() - t) / 200).toFixed(2), "ms");
await f.close();
