import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configSchema } from "../config/index.ts";
import { workerExecArgv } from "./index.ts";

describe("workerExecArgv", () => {
  const server = (mb: number) => ({ server: { ...configSchema.parse({}).server, max_semi_space_mb: mb } });

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

  it("defaults to 1 MiB", () => {
    assert.equal(configSchema.parse({}).server.max_semi_space_mb, 1);
  });
});
