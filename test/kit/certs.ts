/** One self-signed certificate per test process (generating one takes a while), and contexts for it. */
import tls from "node:tls";
import { generateSelfSigned } from "../../src/net/index.ts";

let certCache: Promise<{ cert: string; key: string }> | null = null;

/** a self-signed certificate for "localhost" (also 127.0.0.1 and ::1), generated once */
export function testCert(): Promise<{ cert: string; key: string }> {
  certCache ??= generateSelfSigned("localhost");
  return certCache;
}

/** server-side TLS options of the test certificate (TLS 1.2 at least, as the server uses) */
export async function testTlsOptions(): Promise<tls.TlsOptions> {
  const pair = await testCert();
  return { cert: pair.cert, key: pair.key, minVersion: "TLSv1.2" };
}

/** a StartTlsSource for protocol servers under test */
export async function testTlsSource(): Promise<{ context(): tls.SecureContext }> {
  const ctx = tls.createSecureContext(await testTlsOptions());
  return { context: () => ctx };
}
