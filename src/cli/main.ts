/**
 * postkontor command-line entry point. Checks the Node.js version before loading anything heavy,
 * then runs the commands defined in commands.ts. Exit codes: see program.ts (EXIT). A command line
 * that starts with `serve` (the server and, re-run by node:cluster, each of its workers) is parsed
 * by serve.ts alone: the admin commands and what they import are never loaded there.
 */
import { MIN_NODE, nodeVersionOk } from "./node-version.ts";

if (!nodeVersionOk(process.versions.node)) {
  process.stderr.write(
    `postkontor: Node.js ${process.versions.node} is too old; version ${MIN_NODE} or newer is required (24 LTS recommended).\n` +
      "Run it through npm (npm start / npm run postkontor) or bin/postkontor, which use the Node.js pinned in node_modules.\n",
  );
  process.exit(1);
}

if (process.argv[2] === "serve") {
  const { serveMain } = await import("./serve.ts");
  await serveMain(process.argv);
} else {
  const { main } = await import("./commands.ts");
  await main(process.argv);
}
