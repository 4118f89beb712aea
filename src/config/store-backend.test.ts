// [store] backend = "postgres" needs a postgres:// URL; pool_size has a floor of 2 (the change feed keeps one
// connection for LISTEN).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, validateConfig } from "./index.ts";

test('[store] backend = "postgres": url required, pool_size ≥ 2, sqlite stays the default', () => {
  assert.equal(validateConfig({}).store.backend, "sqlite");
  assert.throws(
    () => validateConfig({ store: { backend: "postgres" } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /store\.url/);
      return true;
    },
  );
  assert.throws(() => validateConfig({ store: { backend: "postgres", url: "mysql://x/y" } }), ConfigError);
  const c = validateConfig({
    store: { backend: "postgres", url: "postgres://pk@db.example:5432/mail", pool_size: 4 },
  });
  assert.equal(c.store.url, "postgres://pk@db.example:5432/mail");
  assert.equal(c.store.pool_size, 4);
  assert.throws(() =>
    validateConfig({ store: { backend: "postgres", url: "postgresql://db/m", pool_size: 1 } }),
  );
  assert.equal(c.store.feed_heartbeat, 10_000);
  assert.throws(() => validateConfig({ store: { feed_heartbeat: "10ms" } }), ConfigError);
  assert.throws(() => validateConfig({ store: { backend: "mysql" } }), ConfigError);
});
