/**
 * Generates the self-signed certificate on a thread of its own (tls.ts ensureSelfSignedCert):
 * the X.509 library and its ASN.1 dependencies load into this thread's heap and go with it, so
 * the long-lived process that needed a certificate once (the cluster primary) does not keep them.
 */
import { workerData } from "node:worker_threads";
import { answerFromThread } from "./one-shot-thread.ts";
import { generateSelfSigned } from "./tls.ts";

const { hostname } = workerData as { hostname: string };
await answerFromThread(() => generateSelfSigned(hostname));
