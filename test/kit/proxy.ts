/** PROXY protocol v2 headers for tests (src/net/proxy.ts reads them). */
import { PROXY_V2_SIGNATURE } from "../../src/net/proxy.ts";

/** a PROXY v2 header: PROXY TCP4 from `client` (port 40000) to 127.0.0.1, or LOCAL */
export function proxyV2(client: string | null): Buffer {
  if (client === null) return Buffer.from([...PROXY_V2_SIGNATURE, 0x20, 0x00, 0, 0]);
  const a = client.split(".").map(Number);
  return Buffer.from([...PROXY_V2_SIGNATURE, 0x21, 0x11, 0, 12, ...a, 127, 0, 0, 1, 0x9c, 0x40, 0, 143]);
}
