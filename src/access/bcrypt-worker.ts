// The worker thread that checks bcrypt passwords, so a costly hash never stalls the event loop
// that serves everyone else's requests.

import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface Job {
  id: number;
  password: string;
  hash: string;
}

parentPort!.on('message', (job: Job) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(job.password, job.hash);
  } catch {
    ok = false;
  }
  parentPort!.postMessage({ id: job.id, ok });
});
