/** Helpers for CLI tests: the real CLI with a temp config, `serve` and its JSON logs, raw sockets (test/kit). */
import { closedNetworkEnv, runCli } from "../kit/process.ts";

export { LineClient } from "../kit/line-client.ts";
export { CLOSED_NETWORK_ENV, MAIN } from "../kit/process.ts";
export {
  type Env,
  initStore,
  listeningPort,
  type Server,
  startServe,
  tempEnv,
  watchServer,
  withPasswordPolicy,
} from "../kit/serve.ts";

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment without POSTKONTOR_* from the outside and with the closed-network settings, plus extra. */
export const cleanEnv = closedNetworkEnv;

/** Runs the CLI to completion (killed after timeoutMs, default 30 s). */
export function run(
  args: string[],
  opts: { input?: string | Buffer; env?: Record<string, string>; timeoutMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  return runCli(args, { ...opts, env: closedNetworkEnv(opts.env), timeoutMs: opts.timeoutMs ?? 30_000 });
}
