/**
 * The one table: each row a ratio Tether ÷ OpenSSH from one run, the two medians with their min–max, the
 * issue's target beside it and whether it holds; printed as a Markdown table (readable in a terminal too) and,
 * with --write, saved to bench/RESULTS.md with the machine it ran on.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { cpus, loadavg, release, totalmem } from 'node:os';
import type { Summary } from './measure.ts';

export type Unit = 'MB/s' | 'ms' | 's' | 'MiB' | 'KiB';

/**
 * A target from issue 17. `of: 'ratio'` compares Tether ÷ OpenSSH; `of: 'tether'` compares Tether's median
 * itself, in the row's unit (the per-session memory budget).
 */
export interface Target {
  op: '≥' | '≤';
  value: number;
  of: 'ratio' | 'tether';
}

export interface Row {
  /** What is measured: "download chacha20-poly1305@openssh.com". */
  name: string;
  /** Which pairing is set against ssh → sshd: "tether ssh → sshd". */
  pairing: string;
  unit: Unit;
  /** Undefined when that side failed (the notes say how). */
  openssh: Summary | undefined;
  tether: Summary | undefined;
  target?: Target;
  /** A further condition the row must meet ("all 1000 accepted"). */
  condition?: { holds: boolean; text: string };
}

export function rowKey(name: string, pairing: string): string {
  return `${name} · ${pairing}`;
}

/** Tether ÷ OpenSSH of the medians; NaN when a side failed. */
export function ratio(row: Row): number {
  return row.tether && row.openssh ? row.tether.median / row.openssh.median : NaN;
}

/** Whether the row meets its target (and condition); undefined when the issue sets none; false if a side failed. */
export function holds(row: Row): boolean | undefined {
  if (!row.target && !row.condition) return row.tether && row.openssh ? undefined : false;
  if (!row.tether || !row.openssh) return false;
  let ok = row.condition?.holds ?? true;
  if (row.target) {
    const value = row.target.of === 'ratio' ? ratio(row) : row.tether.median;
    ok &&= row.target.op === '≥' ? value >= row.target.value : value <= row.target.value;
  }
  return ok;
}

function figure(value: number, unit: Unit): string {
  const digits = unit === 's' ? 2 : unit === 'MiB' ? 1 : 0;
  return value.toFixed(digits);
}

function cell(summary: Summary | undefined, unit: Unit): string {
  if (!summary) return 'failed';
  const range = summary.runs > 1 ? ` (${figure(summary.min, unit)}–${figure(summary.max, unit)})` : '';
  return `${figure(summary.median, unit)} ${unit}${range}`;
}

function targetText(row: Row): string {
  const parts: string[] = [];
  if (row.target) parts.push(`${row.target.op} ${row.target.value.toFixed(row.target.of === 'ratio' ? 1 : 0)}${row.target.of === 'tether' ? ` ${row.unit}` : ''}`);
  if (row.condition) parts.push(row.condition.text);
  return parts.join(', ') || '—';
}

/** The table as Markdown with padded columns. */
export function formatTable(rows: Row[]): string {
  const header = ['case', 'Tether side', 'OpenSSH', 'Tether', 'ratio', 'target', 'holds'];
  const body = rows.map((row) => {
    const verdict = holds(row);
    return [row.name, row.pairing, cell(row.openssh, row.unit), cell(row.tether, row.unit), Number.isNaN(ratio(row)) ? '—' : ratio(row).toFixed(2), targetText(row), verdict === undefined ? '—' : verdict ? 'yes' : '**no**'];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((line) => line[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((text, column) => text.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...body.map(line)].join('\n');
}

export function opensshVersion(): string {
  return spawnSync('/usr/bin/ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
}

export function describeMachine(): string[] {
  const processors = cpus();
  return [
    `CPU: ${processors[0]?.model ?? 'unknown'}, ${processors.length} cores`,
    `memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `kernel: Linux ${release()}`,
    `Node ${process.versions.node} (OpenSSL ${process.versions.openssl}); ${opensshVersion()}`,
    `load average at the end: ${loadavg().map((load) => load.toFixed(2)).join(' ')}`,
    `date: ${new Date().toISOString()}`,
  ];
}

export interface Report {
  rows: Row[];
  /** How the run was made (sizes, rounds, order), one sentence each. */
  method: string[];
  /** Observations made during the run (how the server used the cores, …). */
  notes: string[];
  commandLine: string;
}

export function formatReport(report: Report): string {
  const failed = report.rows.filter((row) => holds(row) === false).length;
  const judged = report.rows.filter((row) => holds(row) !== undefined).length;
  return [
    formatTable(report.rows),
    '',
    `${judged - failed} of ${judged} targets hold. ratio = Tether ÷ OpenSSH (for MB/s higher is better; for ms, MiB and KiB lower is better).`,
    ...report.method.map((line) => `- ${line}`),
    ...report.notes.map((line) => `- ${line}`),
  ].join('\n');
}

export function writeResults(path: string, report: Report): void {
  const text = [
    '# Benchmark results',
    '',
    `Tether against OpenSSH in one side-by-side run on 127.0.0.1 (issue 17), made with \`${report.commandLine}\`.`,
    'Absolute figures drift between runs on a shared machine; the ratios are what to read.',
    '',
    '## Machine',
    '',
    ...describeMachine().map((line) => `- ${line}`),
    '',
    '## Results',
    '',
    formatReport(report),
    '',
  ].join('\n');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
