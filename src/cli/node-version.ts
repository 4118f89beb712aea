/** The Node.js version gate, kept free of imports so main.ts can run it before loading anything. */
export const MIN_NODE = "22.12";

/** True when the version string (process.versions.node) is at least MIN_NODE. */
export function nodeVersionOk(version: string): boolean {
  const [major = 0, minor = 0] = version.split(".").map((p) => Number.parseInt(p, 10) || 0);
  const [minMajor = 0, minMinor = 0] = MIN_NODE.split(".").map(Number);
  return major > minMajor || (major === minMajor && minor >= minMinor);
}
