import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configSchema } from "../config/index.ts";
import { workerEnv, workerExecArgv } from "./index.ts";

describe("workerExecArgv", () => {
  const server = (mb: number, pool = 0) => ({
    server: { ...configSchema.parse({}).server, max_semi_space_mb: mb, v8_pool_size: pool },
  });

  it("adds the young-generation limit to the primary's options", () => {
    assert.deepEqual(workerExecArgv(server(2), ["--enable-source-maps"], "--max-old-space-size=900"), [
      "--enable-source-maps",
      "--max-semi-space-size=2",
    ]);
  });

  it("0 leaves V8's default; an explicit flag (command line or NODE_OPTIONS) wins", () => {
    assert.deepEqual(workerExecArgv(server(0), [], ""), []);
    assert.deepEqual(workerExecArgv(server(1), ["--max-semi-space-size=16"], ""), [
      "--max-semi-space-size=16",
    ]);
    assert.deepEqual(workerExecArgv(server(1), ["--max_semi_space_size=16"], ""), [
      "--max_semi_space_size=16",
    ]);
    assert.deepEqual(workerExecArgv(server(1), [], "--max-old-space-size=900 --max-semi-space-size=8"), []);
  });

  it("adds the V8 thread-pool size unless one is given", () => {
    assert.deepEqual(workerExecArgv(server(0, 1), [], ""), ["--v8-pool-size=1"]);
    assert.deepEqual(workerExecArgv(server(0, 1), ["--v8-pool-size=3"], ""), ["--v8-pool-size=3"]);
    assert.deepEqual(workerExecArgv(server(0, 1), [], "--v8_pool_size=2"), []);
    assert.deepEqual(workerExecArgv(server(0, 0), [], ""), []);
  });

  it("limits glibc malloc arenas of the workers unless the environment does", () => {
    const cfg = configSchema.parse({});
    assert.deepEqual(workerEnv(cfg, {}), { MALLOC_ARENA_MAX: "2" });
    assert.deepEqual(workerEnv(cfg, { MALLOC_ARENA_MAX: "8" }), {});
    assert.deepEqual(workerEnv({ server: { ...cfg.server, malloc_arenas: 0 } }, {}), {});
  });

  it("defaults to 1 MiB", () => {
    assert.equal(configSchema.parse({}).server.max_semi_space_mb, 1);
  });
});
