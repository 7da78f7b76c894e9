// Start and stop the real tollgate binary for the JS end-to-end tests (the
// node twin of test/e2e/gateway.py).
//
// The binary comes from $TOLLGATE_BINARY, else /work/main/build/tollgate. Each
// gateway listens on a free loopback port with a fresh data directory, and its
// stdout/stderr are read continuously (the access log goes to stdout) and shown
// when it fails to start or stop.
//
//   const gw = await startGateway({ config: E2E_CONFIG });
//   ... new BedrockClient({ endpoint: gw.endpoint, ... })
//   assert.equal(await gw.stop(), 0);
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_BINARY = '/work/main/build/tollgate';
const SETPRIV = '/usr/bin/setpriv';
export const START_TIMEOUT_MS = 20_000;
export const STOP_TIMEOUT_MS = 20_000;
export const ACCESS_KEY = 'test';
export const SECRET_KEY = 'test';
export const ACCOUNT_ID = '123456789012';
export const API_KEY = 'e2e-bearer-token';
export const E2E_CONFIG = `principals:
  - access_key_id: ${ACCESS_KEY}
    secret_access_key: ${SECRET_KEY}
    account_id: "${ACCOUNT_ID}"
api_keys:
  - id: e2e-key
    key: ${API_KEY}
    account_id: "${ACCOUNT_ID}"
control_plane_body_bytes: 1048576
`;

const LISTENING = /tollgate listening on (http:\/\/127\.0\.0\.1:(\d+))\b/;
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function binaryPath() {
  const path = process.env.TOLLGATE_BINARY || DEFAULT_BINARY;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`tollgate binary not found or not executable at ${path}; build it or set TOLLGATE_BINARY`);
  }
  return path;
}

export async function startGateway({ config, dataDir } = {}) {
  const work = mkdtempSync(join(tmpdir(), 'tollgate-e2e-js-'));
  const args = ['serve', '--listen', '127.0.0.1:0', '--data', dataDir ?? join(work, 'data')];
  if (config !== undefined) {
    writeFileSync(join(work, 'tollgate.yaml'), config);
    args.push('--config', join(work, 'tollgate.yaml'));
  }
  // setpriv --pdeathsig: the gateway gets SIGTERM if this test process dies without stopping it.
  const [command, commandArgs] = existsSync(SETPRIV)
    ? [SETPRIV, ['--pdeathsig', 'TERM', '--', binaryPath(), ...args]]
    : [binaryPath(), args];
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    running.delete(child);
    resolve(code ?? `signal ${signal}`);
  }));
  const logs = () => `--- tollgate stdout ---\n${stdout}--- tollgate stderr ---\n${stderr}`;
  const cleanup = () => rmSync(work, { recursive: true, force: true });

  const match = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tollgate did not print 'listening on' within ${START_TIMEOUT_MS} ms\n${logs()}`)), START_TIMEOUT_MS);
    const check = () => {
      const m = LISTENING.exec(stdout);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve(m);
      }
    };
    child.stdout.on('data', check);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    exited.then((code) => { clearTimeout(timer); reject(new Error(`tollgate exited (${code}) before listening\n${logs()}`)); });
  }).catch((err) => {
    child.kill('SIGKILL');
    cleanup();
    throw err;
  });

  return {
    endpoint: match[1],
    port: Number(match[2]),
    logs,
    /** SIGTERM, wait for the exit; resolves to the exit status (0 on a graceful stop). */
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`tollgate did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM\n${logs()}`));
        }, STOP_TIMEOUT_MS);
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
        cleanup();
      }
    },
  };
}
