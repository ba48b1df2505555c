#!/usr/bin/env node
// Structural checks for the ops files, called by scripts/ci/ops-checks.sh. Prints one line per
// check: "PASS <name>" or "FAIL <name>: <reason>" (the shell script counts them).
//   node scripts/ci/ops-validate.mjs [--promql-out FILE]
// --promql-out writes every dashboard query as a recording rule (Grafana macros substituted) so
// promtool can parse the PromQL.
// YAML: the `yaml` package when installed, else python3's PyYAML (converted to JSON).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rel = (p) => p.slice(root.length + 1);
const args = process.argv.slice(2);
const promqlOut = args.includes('--promql-out') ? args[args.indexOf('--promql-out') + 1] : null;

// ------------------------------------------------------------------ YAML loading
let yamlLib = null;
try {
  yamlLib = createRequire(join(root, 'package.json'))('yaml');
} catch {
  yamlLib = null;
}
function loadYamlDocs(file) {
  const text = readFileSync(file, 'utf8');
  if (yamlLib) {
    const docs = yamlLib.parseAllDocuments(text);
    for (const d of docs) if (d.errors.length) throw new Error(d.errors[0].message);
    return docs.map((d) => d.toJS()).filter((d) => d !== null && d !== undefined);
  }
  const py = spawnSync(
    'python3',
    [
      '-c',
      'import sys,json,yaml; json.dump([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None], sys.stdout)',
      file,
    ],
    { encoding: 'utf8' },
  );
  if (py.status !== 0)
    throw new Error(`python3 yaml: ${(py.stderr || py.error?.message || '').trim().split('\n').pop()}`);
  return JSON.parse(py.stdout);
}

// ------------------------------------------------------------------ reporting
let failures = 0;
function check(name, fn) {
  try {
    const problems = fn() ?? [];
    if (problems.length) {
      failures++;
      console.log(`FAIL ${name}: ${problems.join('; ')}`);
    } else {
      console.log(`PASS ${name}`);
    }
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}
const get = (obj, path) => path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), obj);
const listFiles = (dir, re) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => re.test(f))
        .sort()
        .map((f) => join(dir, f))
    : [];

// ------------------------------------------------------------------ metric names
const metricsDoc = readFileSync(join(root, 'docs', 'metrics.md'), 'utf8');
const documented = new Map(); // name -> type
for (const line of metricsDoc.split('\n')) {
  const m = /^\|\s*`([a-zA-Z_:][a-zA-Z0-9_:]*)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|/.exec(line);
  if (m) documented.set(m[1], m[2]);
}
const referenced = new Map(); // name -> Set(where)
function noteMetrics(expr, where) {
  // Metric names we own or rely on; label values and strings are stripped first.
  const bare = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/'(?:[^'\\]|\\.)*'/g, "''");
  for (const m of bare.matchAll(/\b((?:llm|process|nodejs)_[a-zA-Z0-9_]+)\b/g)) {
    if (!referenced.has(m[1])) referenced.set(m[1], new Set());
    referenced.get(m[1]).add(where);
  }
}
function isDocumented(name) {
  if (documented.has(name)) return true;
  const h = /^(.*)_(bucket|sum|count)$/.exec(name);
  return Boolean(h && documented.get(h[1]) === 'histogram');
}

// ------------------------------------------------------------------ alert rules and their tests
const rulesDir = join(root, 'monitoring', 'rules');
const testsDir = join(root, 'monitoring', 'tests');
const alerts = [];
for (const file of listFiles(rulesDir, /\.ya?ml$/)) {
  for (const doc of loadYamlDocs(file)) {
    for (const group of doc.groups ?? []) {
      for (const rule of group.rules ?? []) {
        noteMetrics(String(rule.expr ?? ''), rel(file));
        if (rule.alert) alerts.push({ name: rule.alert, rule, file });
      }
    }
  }
}
check('alerts have severity, summary and runbook_url', () =>
  alerts.flatMap(({ name, rule }) => {
    const p = [];
    if (!['critical', 'warning', 'info'].includes(rule.labels?.severity)) p.push(`${name}: severity`);
    if (!rule.annotations?.summary) p.push(`${name}: summary`);
    const anchor = /^docs\/runbook\.md#([a-z0-9-]+)$/.exec(rule.annotations?.runbook_url ?? '');
    if (!anchor) p.push(`${name}: runbook_url`);
    else {
      const runbook = readFileSync(join(root, 'docs', 'runbook.md'), 'utf8');
      const slugs = [...runbook.matchAll(/^#{2,3} (.+)$/gm)].map((m) =>
        m[1]
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .trim()
          .replace(/ +/g, '-'),
      );
      if (!slugs.includes(anchor[1])) p.push(`${name}: no section #${anchor[1]} in docs/runbook.md`);
    }
    return p;
  }),
);
check('every alert has a promtool unit test that fires and stays silent', () => {
  if (alerts.length === 0) return ['no alerts found'];
  return alerts.flatMap(({ name }) => {
    const file = join(testsDir, `${name}.test.yml`);
    if (!existsSync(file)) return [`${name}: missing ${rel(file)}`];
    const cases = loadYamlDocs(file)[0]?.tests?.flatMap((t) => t.alert_rule_test ?? []) ?? [];
    const mine = cases.filter((c) => c.alertname === name);
    const fires = mine.some((c) => (c.exp_alerts ?? []).length > 0);
    const silent = mine.some((c) => (c.exp_alerts ?? []).length === 0);
    return fires && silent ? [] : [`${name}: needs a firing and a silent case`];
  });
});

// ------------------------------------------------------------------ Grafana dashboards
const dashDir = join(root, 'monitoring', 'grafana', 'dashboards');
const dsProvisioning = join(root, 'monitoring', 'grafana', 'provisioning', 'datasources', 'prometheus.yml');
let dsUid = null;
check(`YAML ${rel(dsProvisioning)}`, () => {
  const ds = loadYamlDocs(dsProvisioning)[0];
  const prom = (ds.datasources ?? []).find((d) => d.type === 'prometheus');
  if (ds.apiVersion !== 1 || !prom?.uid || !prom?.url)
    return ['needs apiVersion 1 and a prometheus datasource with uid and url'];
  dsUid = prom.uid;
  return [];
});
const dashProvisioning = join(root, 'monitoring', 'grafana', 'provisioning', 'dashboards', 'llm.yml');
check(`YAML ${rel(dashProvisioning)}`, () => {
  const d = loadYamlDocs(dashProvisioning)[0];
  const p = (d.providers ?? [])[0];
  return d.apiVersion === 1 && p?.type === 'file' && p?.options?.path
    ? []
    : ['needs apiVersion 1 and a file provider with options.path'];
});
const promqlRules = [];
const dashFiles = listFiles(dashDir, /\.json$/);
check('dashboards present', () =>
  dashFiles.length >= 3 ? [] : [`expected at least 3 dashboards, found ${dashFiles.length}`],
);
const uids = new Set();
for (const file of dashFiles) {
  check(`dashboard ${rel(file)}`, () => {
    const d = JSON.parse(readFileSync(file, 'utf8'));
    const p = [];
    for (const key of ['uid', 'title', 'panels', 'schemaVersion', 'time', 'templating'])
      if (d[key] === undefined) p.push(`missing ${key}`);
    if (uids.has(d.uid)) p.push(`duplicate uid ${d.uid}`);
    uids.add(d.uid);
    if (!Array.isArray(d.panels) || d.panels.length === 0) return [...p, 'no panels'];
    const ids = new Set();
    d.panels.forEach((panel, i) => {
      const where = `panel ${i} (${panel.title ?? '?'})`;
      for (const key of ['id', 'type', 'title', 'gridPos'])
        if (panel[key] === undefined) p.push(`${where}: missing ${key}`);
      if (ids.has(panel.id)) p.push(`${where}: duplicate id`);
      ids.add(panel.id);
      const g = panel.gridPos ?? {};
      if (!(g.w > 0 && g.h > 0 && g.x >= 0 && g.y >= 0 && g.x + g.w <= 24)) p.push(`${where}: bad gridPos`);
      if (panel.type === 'row') return;
      if (!Array.isArray(panel.targets) || panel.targets.length === 0) p.push(`${where}: no targets`);
      if (dsUid && panel.datasource?.uid !== dsUid) p.push(`${where}: datasource uid is not ${dsUid}`);
      (panel.targets ?? []).forEach((t, j) => {
        if (typeof t.expr !== 'string' || !t.expr.trim()) return p.push(`${where}: target ${j} has no expr`);
        noteMetrics(t.expr, rel(file));
        promqlRules.push({
          record: `dashboard:${d.uid.replace(/[^a-zA-Z0-9_]/g, '_')}:p${panel.id}_${t.refId}`,
          expr: t.expr
            .replace(/\$__rate_interval|\$__interval/g, '5m')
            .replace(/\$__range/g, '1h')
            .replace(/\$instance/g, '.*')
            .replace(/\$model/g, '.*'),
        });
      });
    });
    return p;
  });
}
if (promqlOut) {
  writeFileSync(
    promqlOut,
    `${JSON.stringify({ groups: [{ name: 'dashboard-queries', rules: promqlRules }] }, null, 2)}\n`,
  );
}

// ------------------------------------------------------------------ Kubernetes manifests
const k8sDir = join(root, 'infrastructure', 'k8s');
const k8sFiles = listFiles(k8sDir, /\.ya?ml$/).filter((f) => basename(f) !== 'kustomization.yaml');
const objects = [];
for (const file of k8sFiles) {
  check(`k8s YAML ${rel(file)}`, () => {
    const docs = loadYamlDocs(file);
    if (docs.length === 0) return ['empty'];
    const p = [];
    for (const o of docs) {
      if (typeof o !== 'object' || Array.isArray(o)) {
        p.push('document is not a mapping');
        continue;
      }
      for (const key of ['apiVersion', 'kind', 'metadata.name'])
        if (!get(o, key)) p.push(`${o.kind ?? '?'}: missing ${key}`);
      if (o.kind !== 'Namespace' && !get(o, 'metadata.namespace'))
        p.push(`${o.kind}/${o.metadata?.name}: missing metadata.namespace`);
      objects.push({ ...o, __file: file });
    }
    return p;
  });
}
const find = (kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
check('k8s cross-references (selectors, probes, GPU, secrets, HPA, PDB, kustomization)', () => {
  const p = [];
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
  if (!workloads.some((w) => w.kind === 'Deployment')) p.push('no Deployment');
  for (const w of workloads) {
    const id = `${w.kind}/${w.metadata.name}`;
    const sel = w.spec?.selector?.matchLabels;
    if (!sel || !matches(sel, w.spec?.template?.metadata?.labels))
      p.push(`${id}: selector does not match template labels`);
    const containers = w.spec?.template?.spec?.containers ?? [];
    if (containers.length === 0) p.push(`${id}: no containers`);
    for (const c of containers) {
      if (!c.image) p.push(`${id}/${c.name}: no image`);
      if (!c.resources?.requests) p.push(`${id}/${c.name}: no resource requests`);
      if (c.livenessProbe?.httpGet?.path !== '/health')
        p.push(`${id}/${c.name}: livenessProbe must GET /health`);
      if (c.readinessProbe?.httpGet?.path !== '/ready')
        p.push(`${id}/${c.name}: readinessProbe must GET /ready`);
      if (!(c.ports ?? []).some((port) => port.containerPort === 8000))
        p.push(`${id}/${c.name}: no containerPort 8000`);
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && (!ref.name || !ref.key))
          p.push(`${id}/${c.name}: env ${e.name} secretKeyRef needs name and key`);
      }
      for (const ef of c.envFrom ?? [])
        if (ef.configMapRef && !find('ConfigMap', ef.configMapRef.name))
          p.push(`${id}/${c.name}: ConfigMap ${ef.configMapRef.name} not defined`);
      const mounts = new Set(
        (w.spec.template.spec.volumes ?? [])
          .map((v) => v.name)
          .concat((w.spec.volumeClaimTemplates ?? []).map((v) => v.metadata?.name)),
      );
      for (const m of c.volumeMounts ?? [])
        if (!mounts.has(m.name)) p.push(`${id}/${c.name}: volumeMount ${m.name} has no volume`);
    }
    if (w.spec?.template?.spec?.securityContext?.runAsNonRoot !== true)
      p.push(`${id}: runAsNonRoot must be true`);
  }
  const gpu = workloads.filter((w) =>
    (w.spec.template.spec.containers ?? []).some((c) => c.resources?.limits?.['nvidia.com/gpu']),
  );
  if (gpu.length === 0) p.push('no workload requests nvidia.com/gpu');
  for (const s of objects.filter((o) => o.kind === 'Service')) {
    if (!workloads.some((w) => matches(s.spec?.selector, w.spec?.template?.metadata?.labels)))
      p.push(`Service/${s.metadata.name}: selector matches no workload`);
  }
  for (const b of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
    if (!workloads.some((w) => matches(b.spec?.selector?.matchLabels, w.spec?.template?.metadata?.labels)))
      p.push(`PDB/${b.metadata.name}: selector matches no workload`);
  }
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  if (hpas.length === 0) p.push('no HorizontalPodAutoscaler');
  for (const h of hpas) {
    const t = h.spec?.scaleTargetRef;
    if (!find(t?.kind, t?.name)) p.push(`HPA/${h.metadata.name}: target ${t?.kind}/${t?.name} not defined`);
    const names = (h.spec?.metrics ?? [])
      .map((m) => m.pods?.metric?.name ?? m.external?.metric?.name ?? m.object?.metric?.name)
      .filter(Boolean);
    if (!names.includes('llm_lane_queue_depth'))
      p.push(`HPA/${h.metadata.name}: does not scale on llm_lane_queue_depth`);
    for (const n of names) noteMetrics(n, rel(h.__file));
  }
  const kustom = loadYamlDocs(join(k8sDir, 'kustomization.yaml'))[0];
  const listed = new Set(kustom?.resources ?? []);
  for (const f of k8sFiles)
    if (!listed.has(basename(f))) p.push(`kustomization.yaml does not list ${basename(f)}`);
  for (const r of listed) if (!existsSync(join(k8sDir, r))) p.push(`kustomization.yaml lists missing ${r}`);
  return p;
});

// ------------------------------------------------------------------ docker compose
for (const file of listFiles(join(root, 'monitoring'), /^docker-compose.*\.ya?ml$/)) {
  check(`compose YAML ${rel(file)}`, () => {
    const c = loadYamlDocs(file)[0];
    const p = [];
    const services = c?.services ?? {};
    if (Object.keys(services).length === 0) return ['no services'];
    const isOverride = basename(file) !== 'docker-compose.yml';
    if (!isOverride) {
      for (const s of ['gateway', 'postgres', 'redis', 'prometheus', 'grafana'])
        if (!services[s]) p.push(`missing service ${s}`);
      for (const [name, s] of Object.entries(services)) {
        if (!s.image && !s.build) p.push(`${name}: needs image or build`);
        for (const dep of Object.keys(
          Array.isArray(s.depends_on)
            ? Object.fromEntries(s.depends_on.map((d) => [d, 1]))
            : (s.depends_on ?? {}),
        ))
          if (!services[dep]) p.push(`${name}: depends_on unknown ${dep}`);
        for (const v of s.volumes ?? []) {
          const src = String(v).split(':')[0];
          if (src.startsWith('./') && !existsSync(join(dirname(file), src)))
            p.push(`${name}: volume source ${src} does not exist`);
        }
      }
      const build = services.gateway?.build;
      if (build && !existsSync(join(dirname(file), build.context ?? '.', build.dockerfile ?? 'Dockerfile')))
        p.push('gateway: Dockerfile not found');
    }
    return p;
  });
}

// ------------------------------------------------------------------ prometheus-adapter query
const adapter = find('ConfigMap', 'llm-prometheus-adapter');
if (adapter) noteMetrics(String(adapter.data?.['config.yaml'] ?? ''), rel(adapter.__file));

// ------------------------------------------------------------------ metrics contract
check('every metric used by alerts, recording rules, dashboards and the HPA is in docs/metrics.md', () => {
  if (documented.size === 0) return ['no metric rows found in docs/metrics.md'];
  if (referenced.size === 0) return ['no metric references found'];
  return [...referenced]
    .filter(([name]) => !isDocumented(name))
    .map(([name, where]) => `${name} (${[...where].join(', ')})`);
});

// ------------------------------------------------------------------ Dockerfile
check('Dockerfile: multi-stage, non-root USER, HEALTHCHECK, port 8000, CMD runs node', () => {
  const text = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const p = [];
  if ((text.match(/^FROM /gm) ?? []).length < 2) p.push('not multi-stage');
  const users = [...text.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  if (users.length === 0 || ['root', '0'].includes(users.at(-1))) p.push('final USER must be non-root');
  if (!/^HEALTHCHECK .*\/health/ms.test(text)) p.push('no HEALTHCHECK on /health');
  if (!/^EXPOSE 8000/m.test(text)) p.push('no EXPOSE 8000');
  // SIGHUP (MODELS_FILE reload) must reach the gateway: npm does not forward it.
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(text);
  if (!cmd || JSON.parse(cmd[1])[0] !== 'node')
    p.push('CMD must run node directly (npm does not forward SIGHUP)');
  if (!existsSync(join(root, '.dockerignore'))) p.push('no .dockerignore');
  else if (!/node_modules/.test(readFileSync(join(root, '.dockerignore'), 'utf8')))
    p.push('.dockerignore must exclude node_modules');
  return p;
});

process.exit(failures ? 1 : 0);
