// A stand-in for src-main/jobs/backup-worker.ts in the contract tests: a real child process that
// speaks the worker protocol and writes a live status file, without any Zimbra server. What it
// does depends on the server's name: Fast (three accounts, then a completed session), Slow (runs
// until SIGTERM, then an aborted session), Crash (dies without a word).
import fs from 'node:fs';
import { setTimeout } from 'node:timers';
import path from 'node:path';

const send = (message) => new Promise((resolve) => process.send(message, resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

process.once('message', async (order) => {
  const startMs = Date.now();
  const d = new Date(startMs);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  const label = `full-${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}.${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  const dir = path.join(order.target, 'tmp', label);
  fs.mkdirSync(dir, { recursive: true });
  const status = (done, current) =>
    fs.writeFileSync(
      path.join(dir, 'status.json'),
      JSON.stringify({
        label,
        type: 'full',
        status: 'in progress',
        pid: process.pid,
        hostname: 'fake',
        startMs,
        updatedMs: Date.now(),
        accounts: { total: 3, done, errors: 0 },
        currentAccount: current,
        bytes: done * 1000,
        message: null,
      }),
    );
  await send({ type: 'label', label });
  const name = order.connect.name;
  if (name === 'Crash') {
    status(0, 'user1@example.com');
    await sleep(200);
    process.kill(process.pid, 'SIGKILL');
  }
  let stop = false;
  process.on('SIGTERM', () => (stop = true));
  for (let done = 0; name === 'Slow' ? !stop : done < 3; done++) {
    status(Math.min(done, 3), `user${(done % 3) + 1}@example.com`);
    await sleep(250);
  }
  await send({ type: 'warning', message: 'a warning from the worker' });
  await send({
    type: 'session',
    session: {
      label,
      status: stop ? 'aborted' : 'completed',
      accounts: 3,
      accountErrors: 0,
      bytes: 3000,
      errors: [],
    },
  });
  fs.rmSync(dir, { recursive: true, force: true });
  await send({ type: 'done', ok: true });
  process.disconnect();
});
