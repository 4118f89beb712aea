/** The blob port's contract (contract.ts) on the filesystem adapter, with writer threads and without. */
import { blobContract } from "./contract.ts";
import { FsBlobStore } from "./fs.ts";

blobContract("fs, writer threads", (dir) => new FsBlobStore(dir, { writerThreads: 1 }));
blobContract("fs, synchronous writes", (dir) => new FsBlobStore(dir, { writerThreads: 0 }));
