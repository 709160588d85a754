// Starts a real `pharos serve` on 127.0.0.1 with a fresh data directory and stops it.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const TOKENS = {
  admin: 'e2e-admin-token-0123456789abcdef',
  read: 'e2e-read-token-0123456789abcdef',
  ingest: 'e2e-ingest-token-0123456789abcdef',
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The pharos binary: $PHAROS_BIN, else the newest of release/debug under the target dir. */
export function findBinary(repo) {
  if (process.env.PHAROS_BIN) return process.env.PHAROS_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target');
  const found = ['release', 'debug']
    .map((p) => path.join(target, p, 'pharos'))
    .filter((p) => fs.existsSync(p))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!found.length) throw new Error(`no pharos binary under ${target}; build it (cargo build --release -p pharos) or set PHAROS_BIN`);
  return found[0];
}

export async function startServer({ bin, dashboards, logFile }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pharos-e2e-'));
  const port = await freePort();
  const config = path.join(dir, 'pharos.toml');
  fs.writeFileSync(
    config,
    `[server]
listen = "127.0.0.1:${port}"
data = "${path.join(dir, 'data')}"

[auth]
admin_tokens = ["${TOKENS.admin}"]
read_tokens = ["${TOKENS.read}"]
ingest_tokens = ["${TOKENS.ingest}"]

[ui]
dashboards = "${dashboards}"
`,
  );
  const log = fs.openSync(logFile, 'w');
  const child = spawn(bin, ['serve', '--config', config], { stdio: ['ignore', log, log] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (let i = 0; Date.now() < deadline; i++) {
    if (child.exitCode !== null) throw new Error(`pharos exited with ${child.exitCode}; see ${logFile}`);
    try {
      const r = await fetch(base + '/readyz');
      if (r.ok) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (Date.now() >= deadline) throw new Error(`pharos was not ready within 60 s; see ${logFile}`);
  return {
    base,
    dir,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = Date.now();
      while (child.exitCode === null && Date.now() - t < 15_000) await new Promise((r) => setTimeout(r, 100));
      if (child.exitCode === null) child.kill('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
