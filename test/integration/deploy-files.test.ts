// The files in deploy/ against the tools that load them and the code they
// describe: promtool checks and unit-tests the alert rules, systemd-analyze
// verifies the units (where it is installed; the hardening keys are checked
// either way), every metric an alert or a dashboard panel reads must be one
// the code registers, and every variable an environment file sets must be
// one common/config.ts reads, with the defaults it really has.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describeVariables, loadConfig } from '../../common/config';

const ROOT = path.join(__dirname, '..', '..');
const DEPLOY = path.join(ROOT, 'deploy');
const CLI = path.join(ROOT, 'bin', 'hyperstatic.js');
/** Folders whose non-test sources register the metrics. */
const SOURCE_DIRS = ['app', 'producer', 'mirrors', 'cache-proxy', 'common'];

function run(
  command: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // A hang guard, not a speed check: `promtool test rules` needs ~20 s of CPU, which took over 120 s of wall
    // time on 2 cores at load 25 (several jobs sharing the machine).
    execFile(command, args, { cwd: options.cwd, timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

function installed(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function read(...parts: string[]): string {
  return fs.readFileSync(path.join(DEPLOY, ...parts), 'utf8');
}

function sourceFiles(dir: string, found: string[] = []): string[] {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(full, found);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) found.push(full);
  }
  return found;
}

/** Every metric name a scrape can return: the code's own and prom-client's default metrics. */
function exposedMetrics(): Set<string> {
  const names = new Set<string>(['up']); // Prometheus's own, per target
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(ROOT, dir))) {
      for (const match of fs.readFileSync(file, 'utf8').matchAll(/['"](hyperstatic_[a-z0-9_]+)['"]/g)) {
        names.add(match[1]);
      }
    }
  }
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const metric of registry.getMetricsAsArray()) names.add(metric.name);
  return names;
}

const PROMQL_KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'bool', 'offset']);

/** The metric names a PromQL expression reads: what is left once strings, matchers, ranges, label lists and calls are taken out. */
function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?=\s*(\()?)/g)) {
    if (match[1] || PROMQL_KEYWORDS.has(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}

function assertMetricsExist(exprs: { where: string; expr: string }[], exposed: Set<string>): void {
  assert.ok(exprs.length > 0, 'no expressions found');
  for (const { where, expr } of exprs) {
    const names = metricsIn(expr);
    assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(
        exposed.has(name) || exposed.has(base),
        `${where}: ${name} is not a metric the code registers (renamed or removed?)`,
      );
    }
  }
}

/** The `expr:` of every rule in alerts.yml (single line or a `>-` block). */
function ruleExpressions(yaml: string): { where: string; expr: string }[] {
  const found: { where: string; expr: string }[] = [];
  for (const block of yaml.split(/\n\s*- alert: /).slice(1)) {
    const name = block.split('\n')[0].trim();
    const match = /\n(\s*)expr: (>-\n((?:\1 {2}.*\n)+)|.*)/.exec(block);
    assert.ok(match, `${name}: no expr`);
    found.push({ where: name, expr: match[3] ? match[3].replace(/\s+/g, ' ').trim() : match[2] });
  }
  return found;
}

describe('Prometheus alert rules (deploy/prometheus)', () => {
  const dir = path.join(DEPLOY, 'prometheus');

  test('promtool is installed (.ci/run installs Debian prometheus for it)', () => {
    assert.ok(installed('promtool'), 'promtool is missing: apt-get install --no-install-recommends prometheus');
  });

  test('promtool check rules and check config accept them', async () => {
    const rules = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir });
    assert.equal(rules.code, 0, rules.stdout + rules.stderr);
    assert.match(rules.stdout, /SUCCESS: \d+ rules found/);
    const config = await run('promtool', ['check', 'config', 'prometheus.yml'], { cwd: dir });
    assert.equal(config.code, 0, config.stdout + config.stderr);
  });

  test('promtool test rules: every alert fires on its series and stays silent on healthy ones', async () => {
    const result = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /SUCCESS/);
  });

  test('every alert has a firing and a silent case in alerts.test.yml, a severity and a runbook hint', () => {
    const rules = read('prometheus', 'alerts.yml');
    const tests = read('prometheus', 'alerts.test.yml');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    assert.ok(alerts.length >= 10, `only ${alerts.length} alerts`);
    assert.equal(new Set(alerts).size, alerts.length, 'duplicate alert names');
    for (const block of rules.split(/\n\s*- alert: /).slice(1)) {
      const name = block.split('\n')[0].trim();
      assert.match(block, /severity: (warning|critical)\n/, `${name}: severity`);
      assert.match(block, /summary: /, `${name}: summary`);
      assert.match(block, /description: [\s\S]*Runbook: /, `${name}: runbook hint in the description`);
    }
    const cases = [...tests.matchAll(/alertname: (\w+)\n\s*exp_alerts:( \[\])?/g)];
    for (const name of alerts) {
      assert.ok(
        cases.some((c) => c[1] === name && !c[2]),
        `${name}: no test case where it fires`,
      );
      assert.ok(
        cases.some((c) => c[1] === name && c[2]),
        `${name}: no test case where it stays silent`,
      );
    }
    for (const c of cases) assert.ok(alerts.includes(c[1]), `alerts.test.yml tests ${c[1]}, which alerts.yml lacks`);
  });

  test('every metric the rules read is one the code registers', () => {
    const exprs = ruleExpressions(read('prometheus', 'alerts.yml'));
    assertMetricsExist(exprs, exposedMetrics());
  });
});

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string; datasource?: { uid: string } }[];
  panels?: Panel[];
}

describe('Grafana dashboard (deploy/grafana/hyperstatic.json)', () => {
  const dashboard = JSON.parse(read('grafana', 'hyperstatic.json')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    templating: { list: { name: string; type: string; query: string }[] };
    panels: Panel[];
  };
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

  test('is a current dashboard with a Prometheus data source variable that every query uses', () => {
    assert.equal(typeof dashboard.uid, 'string');
    assert.ok(dashboard.title);
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    assert.ok(variable, 'no data source variable');
    assert.equal(variable.query, 'prometheus');
    for (const panel of panels.filter((p) => p.targets)) {
      assert.equal(panel.datasource?.uid, `\${${variable.name}}`, `${panel.title}: data source`);
      for (const target of panel.targets!) assert.equal(target.datasource?.uid, `\${${variable.name}}`);
    }
  });

  test('panel ids are unique and every panel has a place on the 24-column grid, overlapping none', () => {
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'duplicate panel ids');
    const cells = new Map<string, string>();
    for (const panel of panels) {
      const { h, w, x, y } = panel.gridPos ?? {};
      for (const n of [h, w, x, y]) assert.ok(Number.isInteger(n) && n >= 0, `${panel.title}: gridPos`);
      assert.ok(w > 0 && h > 0 && x + w <= 24, `${panel.title}: gridPos ${JSON.stringify(panel.gridPos)}`);
      for (let row = y; row < y + h; row++) {
        for (let col = x; col < x + w; col++) {
          const other = cells.get(`${row}:${col}`);
          assert.equal(other, undefined, `${panel.title} overlaps ${other}`);
          cells.set(`${row}:${col}`, panel.title);
        }
      }
    }
  });

  test('every query has a unique refId in its panel and reads metrics the code registers', () => {
    const exprs: { where: string; expr: string }[] = [];
    for (const panel of panels) {
      if (panel.type === 'row' || panel.type === 'text') continue;
      assert.ok(panel.targets?.length, `${panel.title}: no queries`);
      const refIds = panel.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: duplicate refId`);
      for (const target of panel.targets) exprs.push({ where: panel.title, expr: target.expr });
    }
    assertMetricsExist(exprs, exposedMetrics());
  });
});

/** A unit file as section -> key -> values (a key may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1], current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a unit line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

/** Each unit with the CLI command it runs and the environment file it reads. */
const UNITS = [
  { file: 'hyperstatic-app.service', command: ['app'], env: 'app.env', user: 'hyperstatic', daemon: true },
  {
    file: 'hyperstatic-producer@.service',
    command: ['producer', '--port', '%i'],
    env: 'producer.env',
    user: 'dynamic',
    daemon: true,
  },
  { file: 'hyperstatic-mirror.service', command: ['mirror'], env: 'mirror.env', user: 'hyperstatic', daemon: true },
  { file: 'hyperstatic-proxy.service', command: ['proxy'], env: 'proxy.env', user: 'dynamic', daemon: true },
  {
    file: 'hyperstatic-db-migrate.service',
    command: ['db', 'migrate'],
    env: 'app.env',
    user: 'hyperstatic',
    daemon: false,
  },
];

describe('systemd units (deploy/systemd)', () => {
  const unitDir = path.join(DEPLOY, 'systemd');

  test('every unit file is one of the known roles', () => {
    const files = fs.readdirSync(unitDir).filter((f) => f.endsWith('.service'));
    assert.deepEqual(files.sort(), UNITS.map((u) => u.file).sort());
  });

  for (const unit of UNITS) {
    test(`${unit.file}: hardened, limited, and runs \`hyperstatic ${unit.command.join(' ')}\``, () => {
      const service = parseUnit(fs.readFileSync(path.join(unitDir, unit.file), 'utf8')).get('Service');
      assert.ok(service, 'no [Service] section');
      const one = (key: string) => {
        const values = service.get(key);
        assert.ok(values, `${key} is missing`);
        return values[values.length - 1];
      };
      for (const [key, value] of Object.entries({
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        PrivateDevices: 'yes',
        RestrictSUIDSGID: 'yes',
        EnvironmentFile: `/etc/hyperstatic/${unit.env}`,
      })) {
        assert.equal(one(key), value, key);
      }
      assert.ok(fs.existsSync(path.join(DEPLOY, 'env', unit.env)), `deploy/env/${unit.env} is missing`);
      // Stateless roles get a throwaway user; the others share files with the operator's commands.
      if (unit.user === 'dynamic') assert.equal(one('DynamicUser'), 'yes');
      else assert.deepEqual([one('User'), one('Group')], [unit.user, unit.user]);
      for (const key of ['LimitNOFILE', 'MemoryMax', 'TasksMax', 'SystemCallFilter']) one(key);
      // Only the proxy may bind a port below 1024, and it gets nothing else.
      const capabilities = unit.file === 'hyperstatic-proxy.service' ? 'CAP_NET_BIND_SERVICE' : '';
      assert.equal(one('CapabilityBoundingSet'), capabilities);
      assert.equal(one('AmbientCapabilities'), capabilities);
      if (unit.daemon) {
        assert.equal(one('Restart'), 'on-failure');
        assert.match(one('TimeoutStopSec'), /^\d+s$/);
        // The process forces its own exit after 15 s; systemd must not kill it sooner.
        assert.ok(parseInt(one('TimeoutStopSec'), 10) > 15);
      } else {
        assert.equal(one('Type'), 'oneshot');
      }
      // Production runs the compiled build, never TypeScript through a loader (bin/hyperstatic.js).
      assert.ok(service.get('Environment')?.includes('NODE_ENV=production'), 'Environment=NODE_ENV=production');
      assert.deepEqual(one('ExecStart').split(/\s+/), [
        '/usr/bin/node',
        '/opt/hyperstatic/bin/hyperstatic.js',
        ...unit.command,
      ]);
    });
  }

  test('the units write only where the example environment files put the data', () => {
    const env = (file: string) => loadConfig(activeValues(parseEnvFile(read('env', file))));
    const writable = (file: string) =>
      parseUnit(fs.readFileSync(path.join(unitDir, file), 'utf8'))
        .get('Service')!
        .get('ReadWritePaths')!
        .flatMap((v) => v.split(/\s+/));
    const app = env('app.env');
    for (const dir of [app.mediaDir, path.dirname(app.feedSigningKey)]) {
      assert.ok(
        writable('hyperstatic-app.service').some((w) => dir === w || dir.startsWith(`${w}/`)),
        `app writes ${dir}`,
      );
    }
    assert.deepEqual(writable('hyperstatic-mirror.service'), [env('mirror.env').mirrorDataDir]);
  });

  test('the commands and flags the units run exist in the CLI', async () => {
    await Promise.all(
      UNITS.map(async (unit) => {
        const words = unit.command.filter((w) => !w.startsWith('-') && w !== '%i');
        const result = await run(process.execPath, [CLI, ...words, '--help']);
        assert.equal(result.code, 0, `hyperstatic ${words.join(' ')} --help: ${result.stderr}`);
        for (const flag of unit.command.filter((w) => w.startsWith('--'))) {
          assert.match(result.stdout, new RegExp(`${flag}\\b`), `hyperstatic ${words.join(' ')} has no ${flag}`);
        }
      }),
    );
  });

  test('systemd-analyze verify accepts them and security rates them OK', async (t) => {
    if (!installed('systemd-analyze')) {
      t.diagnostic('systemd-analyze is not installed: the units were checked key by key only (tests above)');
      return;
    }
    const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-units-'));
    try {
      for (const unit of UNITS) {
        let text = fs.readFileSync(path.join(unitDir, unit.file), 'utf8');
        // verify checks that the executable exists; on a machine whose node lives elsewhere, use that one.
        if (!fs.existsSync('/usr/bin/node')) text = text.replaceAll('/usr/bin/node', process.execPath);
        fs.writeFileSync(path.join(temp, unit.file), text);
      }
      const paths = UNITS.map((u) => path.join(temp, u.file.replace('@.service', '@3001.service')));
      const verify = await run('systemd-analyze', ['verify', ...paths]);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      // verify exits 0 on unknown keys and bad values: any message is a finding.
      assert.equal((verify.stdout + verify.stderr).trim(), '');
      for (const unitPath of paths) {
        const security = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', unitPath]);
        const level = /Overall exposure level for \S+: ([\d.]+)/.exec(security.stdout);
        assert.ok(level, security.stdout + security.stderr);
        assert.ok(Number(level[1]) <= 2, `${path.basename(unitPath)}: exposure ${level[1]} (1.4 to 1.5 when written)`);
      }
    } finally {
      fs.rmSync(temp, { recursive: true, force: true });
    }
  });
  test('systemd-sysusers creates the hyperstatic user from hyperstatic.sysusers.conf', async (t) => {
    if (!installed('systemd-sysusers')) {
      t.diagnostic('systemd-sysusers is not installed: hyperstatic.sysusers.conf was not tried');
      return;
    }
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-sysusers-'));
    try {
      fs.mkdirSync(path.join(root, 'etc', 'sysusers.d'), { recursive: true });
      fs.copyFileSync(
        path.join(unitDir, 'hyperstatic.sysusers.conf'),
        path.join(root, 'etc', 'sysusers.d', 'hyperstatic.conf'),
      );
      const result = await run('systemd-sysusers', [`--root=${root}`]);
      assert.equal(result.code, 0, result.stderr);
      const passwd = fs.readFileSync(path.join(root, 'etc', 'passwd'), 'utf8');
      assert.match(passwd, /^hyperstatic:x:\d+:\d+:[^:]*:\/var\/lib\/hyperstatic:\/usr\/sbin\/nologin$/m);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

interface EnvLine {
  name: string;
  value: string;
  /** `#NAME=value`: shows the default. */
  commented: boolean;
  /** The comment lines just above it. */
  comment: string;
}

function parseEnvFile(text: string): EnvLine[] {
  const lines: EnvLine[] = [];
  let comment: string[] = [];
  for (const line of text.split('\n')) {
    const setting = /^(#)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (setting) {
      const value = setting[3].replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
      lines.push({ name: setting[2], value, commented: Boolean(setting[1]), comment: comment.join('\n') });
      comment = [];
    } else if (line.startsWith('#')) comment.push(line);
    else comment = [];
  }
  return lines;
}

function activeValues(lines: EnvLine[]): Record<string, string> {
  return Object.fromEntries(lines.filter((l) => !l.commented).map((l) => [l.name, l.value]));
}

describe('example environment files (deploy/env)', () => {
  const known = new Set([...describeVariables().matchAll(/^ {2}([A-Z][A-Z0-9_]*) /gm)].map((m) => m[1]));
  const files = ['app.env', 'producer.env', 'mirror.env', 'proxy.env'];

  test('there is one per role', () => {
    assert.deepEqual(fs.readdirSync(path.join(DEPLOY, 'env')).sort(), [...files].sort());
    assert.ok(known.size > 40, 'could not read the variable names from describeVariables()');
  });

  for (const file of files) {
    test(`${file}: every variable is one common/config.ts reads, each once, with a comment`, () => {
      const text = read('env', file);
      assert.match(text, /mode 0600/, 'says the file must be mode 0600');
      const lines = parseEnvFile(text);
      assert.ok(lines.length > 0);
      const names = lines.map((l) => l.name);
      assert.equal(new Set(names).size, names.length, 'a variable appears twice');
      for (const line of lines) {
        assert.ok(known.has(line.name), `${line.name} is not a variable of common/config.ts`);
        assert.ok(line.comment.trim().length > 1, `${line.name} has no comment`);
      }
    });

    test(`${file}: the commented lines show the real defaults and the set values are valid`, () => {
      const lines = parseEnvFile(read('env', file));
      const defaults = loadConfig({});
      for (const line of lines.filter((l) => l.commented)) {
        assert.deepEqual(
          loadConfig({ [line.name]: line.value }),
          defaults,
          `#${line.name}=${line.value} is not the default`,
        );
      }
      assert.doesNotThrow(() => loadConfig(activeValues(lines)));
    });
  }

  test('secrets are marked', () => {
    const secrets = [
      'DATABASE_URL',
      'DATABASE_NODES',
      'MIRROR_STATUS_TOKEN',
      'MIRROR_ADMIN_TOKEN',
      'PROXY_PURGE_TOKEN',
      'PROXY_ADMIN_TOKEN',
      'REDIS_URL',
    ];
    for (const file of files) {
      for (const line of parseEnvFile(read('env', file)).filter((l) => secrets.includes(l.name))) {
        assert.match(line.comment, /SECRET/, `${file}: ${line.name} is not marked SECRET`);
      }
    }
  });

  test("each process's own variables are all in its file, so a new one is not forgotten", () => {
    const own: Record<string, RegExp> = {
      'producer.env': /^PRODUCER_/,
      'mirror.env': /^MIRROR_/,
      'proxy.env': /^PROXY_/,
    };
    for (const [file, prefix] of Object.entries(own)) {
      const names = new Set(parseEnvFile(read('env', file)).map((l) => l.name));
      for (const name of [...known].filter((n) => prefix.test(n))) assert.ok(names.has(name), `${file} lacks ${name}`);
    }
  });
});

describe('MariaDB config (deploy/mariadb/60-hyperstatic.cnf)', () => {
  const cnf = read('mariadb', '60-hyperstatic.cnf');
  const settings = new Map(
    cnf
      .split('\n')
      .map((line) => line.replace(/#.*/, '').trim())
      .filter((line) => line.includes('='))
      .map((line) => line.split('=').map((s) => s.trim()) as [string, string]),
  );

  test('every node starts fenced, with the semi-sync replica side on and the source side off (issue 22: a replica with it on stalls)', () => {
    assert.equal(settings.get('read_only'), '1');
    assert.equal(settings.get('rpl_semi_sync_slave_enabled'), '1');
    assert.equal(settings.get('rpl_semi_sync_master_enabled'), '0');
    assert.equal(settings.get('rpl_semi_sync_master_wait_point'), 'AFTER_SYNC');
    assert.equal(settings.get('gtid_strict_mode'), '1');
  });

  test('docs/operations.md shows the file as it is', () => {
    const docs = fs.readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    assert.ok(docs.includes(`\`\`\`ini\n${cnf}\`\`\``), 'the ini block in docs/operations.md differs from the file');
  });

  test('mariadbd accepts every setting in it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-cnf-'));
    try {
      const file = path.join(dir, 'hyperstatic.cnf');
      fs.writeFileSync(file, cnf);
      const mariadbd = installed('mariadbd') ? 'mariadbd' : '/usr/sbin/mariadbd';
      const { code, stderr } = await run(mariadbd, [
        `--defaults-file=${file}`,
        `--datadir=${dir}`,
        ...(process.getuid?.() === 0 ? ['--user=root'] : []),
        '--help',
        '--verbose',
      ]);
      assert.equal(code, 0, stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
