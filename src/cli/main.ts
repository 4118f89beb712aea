/**
 * postkontor command-line entry point. Checks the Node.js version before loading anything heavy,
 * then runs the commands defined in commands.ts. Exit codes: see commands.ts (EXIT).
 */
import { MIN_NODE, nodeVersionOk } from "./node-version.ts";

if (!nodeVersionOk(process.versions.node)) {
  process.stderr.write(
    `postkontor: Node.js ${process.versions.node} is too old; version ${MIN_NODE} or newer is required (24 LTS recommended).\n` +
      "Run it through npm (npm start / npm run postkontor) or bin/postkontor, which use the Node.js pinned in node_modules.\n",
  );
  process.exit(1);
}

const { main } = await import("./commands.ts");
await main(process.argv);
