// Entry point of a worker process (forked by the master in arbiter.ts).
import { runWorker } from './worker.js';

runWorker();
