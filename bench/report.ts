// What a bench section reports: each line as printed, and beside a line that holds results, the same figures as a
// record, so that `--json FILE` can hand them to a machine (the device kit reads them) while the text stays as it is.
import { renameSync, writeFileSync } from 'node:fs';

/** One row of results: plain values only (a NaN or infinite number is written as null). */
export type BenchRecord = Record<string, string | number | boolean | null>;

/** Prints `line`; `record`, where given, is the same result for machines. */
export type Report = (line: string, record?: BenchRecord) => void;

export interface SectionOptions {
  /** a section's smallest case, where it has one (matmul): a check that a setup runs, not a figure */
  quick: boolean;
}

export type Section = (report: Report, options: SectionOptions) => Promise<void>;

type SectionStatus = 'running' | 'ok' | 'failed' | 'timed out' | 'skipped';

export interface SectionResult {
  name: string;
  status: SectionStatus;
  seconds: number;
  /** every line printed, in order */
  lines: string[];
  /** the records given with result lines, in order */
  results: BenchRecord[];
  /** for each record, the index in `lines` of the line it came with */
  result_lines: number[];
  error?: string;
}

export interface BenchResults {
  format: 'hearth-bench';
  version: 1;
  started: string;
  argv: string[];
  sections: SectionResult[];
}

/** A NaN or an infinity is no JSON number: null says "no value" without breaking a reader. */
export function plain(record: BenchRecord): BenchRecord {
  const out: BenchRecord = {};
  for (const [k, v] of Object.entries(record)) out[k] = typeof v === 'number' && !Number.isFinite(v) ? null : v;
  return out;
}

/** Writes `value` as JSON to `path` at once: a new file renamed over the old, so a reader never sees half of one. */
export function writeJsonFile(path: string, value: unknown): void {
  const temporary = `${path}.partial`;
  writeFileSync(temporary, JSON.stringify(value, null, 1) + '\n');
  renameSync(temporary, path);
}

/**
 * The results of one bench run as a JSON file, rewritten whole after every line, so that a run stopped from outside
 * (a time limit) leaves what it had measured, its last section marked 'running'.
 */
export class ResultsFile {
  readonly results: BenchResults;
  private startedAt = 0;
  private current: SectionResult | null = null;

  constructor(
    private readonly path: string,
    argv: string[],
  ) {
    this.results = { format: 'hearth-bench', version: 1, started: new Date().toISOString(), argv, sections: [] };
    this.save();
  }

  begin(name: string): void {
    this.current = { name, status: 'running', seconds: 0, lines: [], results: [], result_lines: [] };
    this.startedAt = performance.now();
    this.results.sections.push(this.current);
    this.save();
  }

  add(line: string, record?: BenchRecord): void {
    if (!this.current) return;
    this.current.lines.push(line);
    if (record) {
      this.current.results.push(plain(record));
      this.current.result_lines.push(this.current.lines.length - 1);
    }
    this.current.seconds = (performance.now() - this.startedAt) / 1000;
    this.save();
  }

  end(status: 'ok' | 'failed', error?: unknown): void {
    if (!this.current) return;
    this.current.status = status;
    this.current.seconds = (performance.now() - this.startedAt) / 1000;
    if (error !== undefined) this.current.error = error instanceof Error ? error.message : String(error);
    this.current = null;
    this.save();
  }

  private save(): void {
    writeJsonFile(this.path, this.results);
  }
}
