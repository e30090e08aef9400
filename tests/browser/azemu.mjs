// Starts an azemu process for a browser test and talks to it over real HTTP(S): ARM calls with
// a token from azemu's token service, and azemu's control API.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TENANT = 'a2e0c0de-0000-4000-8000-000000000001';
export const SUBSCRIPTION = 'a2e0c0de-0000-4000-8000-000000000002';
export const CLIENT = 'a2e0c0de-0000-4000-8000-000000000003';
const READY = /azemu ready: (\S+) \(CA: ([^)]+)\)(?: dashboard: (\S+))?/;

/** Starts `$AZEMU_BIN --port 0 …args`; resolves once its ready line is printed. */
export async function start(args = []) {
  const bin = process.env.AZEMU_BIN;
  if (!bin) throw new Error('AZEMU_BIN is not set (scripts/browser-test.sh sets it)');
  const dataDir = mkdtempSync(join(tmpdir(), 'azemu-ui-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AZEMU_')));
  const proc = spawn(bin, ['--port', '0', '--data-dir', dataDir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s:\n${output}`)), 20000);
    const onData = (d) => {
      output += d;
      const m = output.match(READY);
      if (m) { clearTimeout(timer); resolve(m); }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', (d) => { output += d; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`azemu exited (${code}):\n${output}`)); });
  });
  const [, url, ca, dashboard] = line;
  const tls = url.startsWith('https:');
  const az = {
    url, dashboard, proc, readyLine: line[0],
    ca: tls ? readFileSync(ca) : null,
    /** Stops azemu with SIGTERM; resolves to the milliseconds it took to exit. */
    async stop() {
      if (proc.exitCode !== null) return 0;
      const t0 = Date.now();
      const exited = new Promise((ok) => proc.once('exit', ok));
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
      return Date.now() - t0;
    },
  };
  az.request = (method, path, body, headers = {}) => request(az, method, path, body, headers);
  az.control = async (method, path, body) => {
    const r = await az.request(method, path, body);
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  az.arm = (method, path, body, apiVersion) => arm(az, method, path, body, apiVersion);
  return az;
}

/** One HTTP(S) request; resolves to {status, headers, body (JSON when it parses)}. */
export function request(az, method, path, body, headers = {}) {
  const u = new URL(path, az.url);
  const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(u, {
      method,
      ca: az.ca || undefined,
      headers: { ...(data !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}), ...headers },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed = text;
        try { parsed = text ? JSON.parse(text) : null; } catch { /* keep text */ }
        resolve({ status: res.statusCode, headers: res.headers, body: parsed });
      });
    });
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** An ARM call as the default client; follows a long-running operation to its end. */
async function arm(az, method, path, body, apiVersion) {
  if (!az.token) {
    const form = new URLSearchParams({
      grant_type: 'client_credentials', client_id: CLIENT, client_secret: 'browser-test', scope: `${az.url}/.default`,
    }).toString();
    const r = await request(az, 'POST', `/${TENANT}/oauth2/v2.0/token`, form, { 'content-type': 'application/x-www-form-urlencoded' });
    if (r.status !== 200) throw new Error(`token: ${r.status} ${JSON.stringify(r.body)}`);
    az.token = r.body.access_token;
  }
  const auth = { authorization: `Bearer ${az.token}` };
  const r = await request(az, method, `${path}?api-version=${apiVersion}`, body, auth);
  if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  const poll = r.headers['azure-asyncoperation'];
  if (poll && (r.status === 201 || r.status === 202)) {
    for (let i = 0; i < 100; i++) {
      const s = await request(az, 'GET', poll, undefined, auth);
      if (s.body && s.body.status !== 'InProgress') {
        if (s.body.status !== 'Succeeded') throw new Error(`${method} ${path}: operation ${JSON.stringify(s.body)}`);
        break;
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    if (method === 'PUT') return (await request(az, 'GET', `${path}?api-version=${apiVersion}`, undefined, auth)).body;
  }
  return r.body;
}
