/** The webmail's file serving without a server: the 503 page before a build, then the build served at once. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { Hono } from "hono";
import { tempDir } from "../store/testing/helpers.ts";
import type { Env } from "./middleware.ts";
import { mountWebmail } from "./webmail.ts";

describe("webmail files", () => {
  it("503 with the build command while webmail/dist is missing; served once it is there", async () => {
    const t = tempDir("pk-webmail-");
    try {
      const dist = path.join(t.dir, "dist");
      const app = new Hono<Env>();
      mountWebmail(app, { dist });
      const before = await app.request("/");
      assert.equal(before.status, 503);
      assert.match(await before.text(), /npm run build:webmail/);
      assert.equal(before.headers.get("cache-control"), "no-store");
      assert.equal((await app.request("/assets/app-X.js")).status, 404);

      mkdirSync(path.join(dist, "assets"), { recursive: true });
      writeFileSync(path.join(dist, "index.html"), "<!doctype html><title>Mail</title>");
      writeFileSync(path.join(dist, "assets", "app-X.js"), "export {};");
      const page = await app.request("/");
      assert.equal(page.status, 200);
      assert.equal(await page.text(), "<!doctype html><title>Mail</title>");
      const head = await app.request("/", { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), "");
      const route = await app.request("/settings", { method: "HEAD", headers: { Accept: "text/html" } });
      assert.equal(route.status, 200);
      const js = await app.request("/assets/app-X.js");
      assert.equal(js.status, 200);
      assert.equal(await js.text(), "export {};");
      // a file outside assets/ is never an asset
      assert.equal((await app.request("/assets/index.html")).status, 404);
    } finally {
      t.cleanup();
    }
  });
});
