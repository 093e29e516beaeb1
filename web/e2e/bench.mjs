// Dashboard with 100,000+ incidents: builds a mission database (the demo, plus 30 simulated days
// at ~1300 bursts a day), serves it, and times the first render of the map in headless Chromium
// (navigation to `#map[data-state=ready]`) for the whole month, one day, and a brush to a week.
//
//   node e2e/bench.mjs --truce build/truce [--db /tmp/truce-bench.db] [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (n, d) => (process.argv.includes('--' + n) ? process.argv[process.argv.indexOf('--' + n) + 1] : d);
const TRUCE = path.resolve(arg('truce', path.join(here, '../../build/truce')));
const DB = path.resolve(arg('db', path.join(os.tmpdir(), 'truce-bench-dashboard.db')));
const RUNS = Number(arg('runs', 3));
const WEB = path.join(here, '../dist');

const truce = (...a) => {
  const r = spawnSync(TRUCE, ['--db', DB, ...a], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`truce ${a.join(' ')}: ${r.stderr}`);
  return r.stdout + r.stderr;
};

let token;
if (!fs.existsSync(DB)) {
  const t0 = Date.now();
  const demo = truce('demo', '--fresh');
  token = /^analyst token: (\w+)$/m.exec(demo)[1];
  const csv = DB + '.csv';
  truce('simulate', '--days', '30', '--seed', '7', '--start', '2023-08-01T00:00:00Z', '--bursts-per-day', '1300', '-o', csv, '-q');
  truce('import', 'observations', csv);
  fs.rmSync(csv);
  fs.writeFileSync(DB + '.token', token);
  console.log(`built ${DB} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
} else {
  token = fs.readFileSync(DB + '.token', 'utf8').trim();
}

const server = spawn(TRUCE, ['--db', DB, 'serve', '--listen', '127.0.0.1:0', '--web', WEB], { stdio: ['ignore', 'pipe', 'ignore'] });
const startedAt = Date.now();
const BASE = await new Promise((res) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
    if (m) res(m[1]);
  });
});
const get = async (p) => (await fetch(BASE + p, { headers: { Authorization: 'Bearer ' + token } })).json();
const t1 = Date.now();
const all = await get('/api/v1/incidents/summary');
console.log(`incidents: ${all.total} (${all.first} .. ${all.last}); first summary after start: ${Date.now() - t1} ms (index built ${Date.now() - startedAt} ms after start)`);
for (const q of ['', 'from=2023-08-01T00:00:00Z&to=2023-09-01T00:00:00Z&cell_deg=0.05', 'kind=mortar&status=reported']) {
  const ts = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await get('/api/v1/incidents/summary?' + q);
    ts.push(performance.now() - t);
  }
  console.log(`summary ?${q}: median ${ts.sort((a, b) => a - b)[2].toFixed(0)} ms`);
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-quic'],
});
const month = 'from=2023-08-01T00:00:00Z&to=2023-09-01T00:00:00Z';
const day = `from=${all.last.slice(0, 10)}T00:00:00Z&to=${new Date(Date.parse(all.last.slice(0, 10)) + 86400000).toISOString().replace('.000Z', 'Z')}`;
const median = (a) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [name, q] of [['whole month', month], ['last day', day]]) {
  const times = [];
  let info = '';
  for (let r = 0; r < RUNS; r++) {
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await ctx.addInitScript((t) => window === window.top && localStorage.setItem('truce.token', t), token);
    const page = await ctx.newPage();
    const t = Date.now();
    await page.goto(`${BASE}/?${q}`);
    await page.waitForSelector('#map[data-state="ready"]', { timeout: 120000 });
    times.push(Date.now() - t);
    const dcl = await page.evaluate(() => Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd));
    info = `${await page.locator('#count').innerText()} [page loaded at ${dcl} ms; map data ${await page.locator('#map').getAttribute('data-ms')} ms]`;
    if (name === 'whole month' && r === RUNS - 1) {
      // A new range start typed in the filter, to the map re-drawn.
      const t2 = Date.now();
      await page.locator('#filters input[name="from"]').fill('2023-08-10T00:00');
      await page.locator('#filters input[name="from"]').dispatchEvent('change');
      await page.waitForFunction(() => document.querySelector('#map').dataset.state === 'ready' && /^[\d,]+ incidents in range/.test(document.querySelector('#count').textContent) && new URL(location.href).searchParams.get('from') === '2023-08-10T00:00:00Z');
      console.log(`re-render after changing the range start: ${Date.now() - t2} ms: ${await page.locator('#count').innerText()}`);
      const t3 = Date.now();
      await page.locator('.leaflet-control-zoom-in').click();
      await page.waitForTimeout(50);
      await page.waitForSelector('#map[data-state="ready"]');
      console.log(`zoom in (aggregation re-fetched): ${Date.now() - t3} ms`);
    }
    await ctx.close();
  }
  console.log(`first render, ${name}: median ${median(times)} ms of ${RUNS} (${times.join(', ')}): ${info}`);
}
await browser.close();
server.kill('SIGTERM');
