#!/usr/bin/env node
// Runs nginx with infrastructure/nginx/llm-api.conf (listen address and upstream rewritten to
// free loopback ports, logs in a temp dir) in front of a small SSE server, and checks that:
//   - an SSE event reaches the client while the upstream stream is still open (no buffering);
//   - a client's X-Request-Id reaches the upstream and comes back; without one nginx makes one;
//   - a body over client_max_body_size is refused with 413.
//   node scripts/ci/nginx-sse-check.mjs [path/to/nginx]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const nginx = process.argv[2] ?? 'nginx';
const dir = mkdtempSync(join(tmpdir(), 'llm-nginx-'));
mkdirSync(join(dir, 'logs'));
const seen = [];

const upstream = createServer((req, res) => {
  seen.push(req.headers['x-request-id']);
  if (req.url.startsWith('/v1/chat/completions')) {
    req.resume();
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      'x-request-id': req.headers['x-request-id'] ?? '',
    });
    res.write('data: {"first":true}\n\n');
    setTimeout(() => {
      res.write('data: [DONE]\n\n');
      res.end();
    }, 1500);
    return;
  }
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});
const listen = (srv) => new Promise((ok) => srv.listen(0, '127.0.0.1', () => ok(srv.address().port)));
const freePort = async () => {
  const s = createServer();
  const p = await listen(s);
  await new Promise((ok) => s.close(ok));
  return p;
};

let proc;
let failed = 0;
function expect(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failed++;
}

try {
  const upPort = await listen(upstream);
  const port = await freePort();
  const conf = readFileSync(join(root, 'infrastructure', 'nginx', 'llm-api.conf'), 'utf8')
    .replace(/^\s*listen \[::\]:80;\n/m, '')
    .replace(/listen 80;/, `listen 127.0.0.1:${port};`)
    .replace(/server 127\.0\.0\.1:8000/, `server 127.0.0.1:${upPort}`)
    .replaceAll('/var/log/nginx/', `${dir}/logs/`);
  writeFileSync(join(dir, 'llm-api.conf'), conf);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;\ndaemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/logs/error.log;\nevents { worker_connections 64; }\n` +
      `http {\n  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;\n` +
      `  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;\n  access_log ${dir}/logs/access.log;\n  include ${dir}/llm-api.conf;\n}\n`,
  );
  const user = userInfo().username;
  const test = spawnSync(
    nginx,
    ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `user ${user};`],
    { encoding: 'utf8' },
  );
  if (test.status !== 0) throw new Error(`nginx -t failed: ${test.stderr}`);
  proc = spawn(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', `user ${user};`], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`${base}/health`);
      break;
    } catch {
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }

  // SSE: the first event must arrive long before the upstream closes the stream (1.5 s).
  const t0 = Date.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-client-1' },
    body: '{"stream":true}',
  });
  const reader = res.body.getReader();
  const first = await reader.read();
  const tFirst = Date.now() - t0;
  let rest = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += Buffer.from(value).toString();
  }
  const tAll = Date.now() - t0;
  expect(res.status === 200, `SSE status 200 (got ${res.status})`);
  expect(
    Buffer.from(first.value ?? [])
      .toString()
      .includes('"first":true') && tFirst < 1000,
    `first SSE event after ${tFirst} ms, before the stream ended (${tAll} ms)`,
  );
  expect(rest.includes('[DONE]'), 'stream completes');
  expect(seen.at(-1) === 'req-client-1', `client X-Request-Id reaches the gateway (got ${seen.at(-1)})`);
  expect(res.headers.get('x-request-id') === 'req-client-1', 'X-Request-Id returned to the client');

  const r2 = await fetch(`${base}/v1/models`);
  await r2.text();
  expect(
    /^[0-9a-f]{32}$/.test(seen.at(-1) ?? '') && r2.headers.get('x-request-id') === seen.at(-1),
    `nginx generates an X-Request-Id when the client sends none (${seen.at(-1)})`,
  );

  const big = await fetch(`${base}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: 'x'.repeat(11 * 1024 * 1024),
  });
  await big.text();
  expect(big.status === 413, `a body over client_max_body_size gets 413 (got ${big.status})`);

  const metrics = await fetch(`${base}/metrics`);
  await metrics.text();
  expect(metrics.status === 200, `/metrics reachable from loopback (got ${metrics.status})`);
} catch (err) {
  console.log(`FAIL ${err.message}`);
  failed++;
} finally {
  proc?.kill('SIGQUIT');
  upstream.close();
  await new Promise((ok) => setTimeout(ok, 200));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
