/**
 * A blob-writer thread (see BlobWriterPool in writer.ts): receives {seq, root, id, data}, writes the
 * blob durably with synchronous calls and answers {seq} or {seq, error}. One message round trip
 * per blob instead of a chain of thread-pool calls, and no fsync on the protocol event loop.
 */
import { parentPort } from "node:worker_threads";
import { writeBlobDurableSync } from "./durable.ts";

interface Job {
  seq: number;
  root: string;
  id: string;
  data: Uint8Array;
}

const durableDirs = new Set<string>();
// bounded: the set only remembers directories (at most 65,536 + 256 per root)
parentPort?.on("message", (job: Job) => {
  try {
    writeBlobDurableSync(job.root, job.id, job.data, durableDirs);
    parentPort?.postMessage({ seq: job.seq });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    parentPort?.postMessage({ seq: job.seq, error: { message: e.message, code: e.code } });
  }
});
