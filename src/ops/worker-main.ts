// Entry point of a worker process (forked by the supervisor through node:cluster).

import { runWorker } from './worker.ts';

runWorker();
