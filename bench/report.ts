/** The benchmark's result table and its markdown form. */

/** One line of the result table. */
export interface BenchRow {
  /** Stable identifier (`hissuno`, `neuroon-cold-3`, …). */
  id: string;
  /** What was served, as printed. */
  route: string;
  /** Median 2xx answers per second. */
  rps: number;
  /** Median latency percentiles, in milliseconds. */
  p50: number;
  p99: number;
  /** Median server CPU time per request, in microseconds; `null` where no app server was involved. */
  cpuUs: number | null;
  /** What the row is compared with (`—` for baselines themselves). */
  baseline: string;
  /** The comparison: a CPU ratio, added latency, vendor calls, RSS change… */
  comparison: string;
  /** The target, as printed. */
  target: string;
  /** Whether the target holds; `null` for rows without a target. */
  pass: boolean | null;
  /** Why a row failed besides its target (errors, non-2xx answers), or other notes. */
  notes: string[];
}

/** Facts about the machine and the run, printed above the table. */
export interface RunFacts {
  date: string;
  node: string;
  cpus: number;
  cpuModel: string;
  platform: string;
  loadBefore: number[];
  loadAfter: number[];
  durationS: number;
  mode: string;
  quick: boolean;
  /** Parts that did not run, with the reason. */
  skipped: string[];
}

const num = (value: number, digits: number): string =>
  Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '—';

/** `1,234` requests/s, `0.42` ms, `123` µs. */
export const format = {
  rps: (v: number) => num(v, 0),
  ms: (v: number) => num(v, 2),
  us: (v: number | null) => (v === null ? '—' : num(v, 0)),
  count: (v: number) => num(v, 0),
  ratio: (v: number) => `${num(v, 2)}×`,
  mb: (bytes: number) => `${num(bytes / (1024 * 1024), 1)} MB`,
  pct: (v: number) => `${v >= 0 ? '+' : ''}${num(v * 100, 1)}%`,
};

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The result table in markdown. */
export function renderTable(rows: readonly BenchRow[]): string {
  const header = ['Route', 'req/s', 'p50 ms', 'p99 ms', 'CPU µs/req', 'Baseline', 'vs baseline', 'Target', 'Result'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i >= 1 && i <= 4 ? '---:' : '---')).join('|')}|`];
  for (const r of rows) {
    const result = r.pass === null ? '—' : r.pass ? 'pass' : '**FAIL**';
    const comparison = [r.comparison, ...r.notes].filter(Boolean).join('; ');
    lines.push(
      `| ${[r.route, format.rps(r.rps), format.ms(r.p50), format.ms(r.p99), format.us(r.cpuUs), r.baseline, comparison, r.target, result].map(cell).join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** The whole report: run facts, the table, and a one-line summary. */
export function renderReport(rows: readonly BenchRow[], facts: RunFacts): string {
  const targets = rows.filter((r) => r.pass !== null);
  const failed = targets.filter((r) => r.pass === false);
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(' ');
  const lines = [
    '# Benchmark results',
    '',
    `Latest \`npm run bench\`${facts.quick ? ' (quick mode: a few requests only, figures meaningless)' : ''}: ${facts.date}, Node ${facts.node}, ` +
      `${facts.cpus} × ${facts.cpuModel} (${facts.platform}); load average ${load(facts.loadBefore)} before, ${load(facts.loadAfter)} after; ` +
      `${Math.round(facts.durationS)} s; server processes ${facts.mode === 'esbuild' ? 'bundled with esbuild' : 'run through tsx'}.`,
    '',
    'CPU figures are medians over alternating rounds; ratios are medians of per-round ratios against the baseline measured in the same round. ' +
      'See `bench/README.md` for the method.',
    '',
    renderTable(rows),
    '',
    failed.length === 0 ? `All ${targets.length} targets hold.` : `${failed.length} of ${targets.length} targets missed: ${failed.map((r) => r.route).join(', ')}.`,
  ];
  if (facts.skipped.length > 0) lines.push('', ...facts.skipped.map((s) => `Skipped: ${s}`));
  return `${lines.join('\n')}\n`;
}
