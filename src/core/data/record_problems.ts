// Problems with single records of a file, gathered by kind so that a file with ten thousand bad lines gives one
// message ("skipped 10,000 lines (3, 9, 12, …): not JSON (line 3: Unexpected token)") and not ten thousand.
import type { FileMessage } from './read_text.ts';

/** How a format numbers its records in messages: JSON Lines by line, CSV and Parquet by row, a JSON list by item. */
export type RecordUnit = 'line' | 'row' | 'record';

/** Record numbers listed in a message before "…". */
const LISTED = 5;

export class RecordProblems {
  private readonly kinds = new Map<string, { count: number; at: number[]; detail?: string; detailAt?: number }>();
  unit: RecordUnit;

  constructor(unit: RecordUnit = 'record') {
    this.unit = unit;
  }

  /** Record `at` (1-based) has this problem; `detail` (the first one kept) says more, such as a parser's words. */
  add(kind: string, at: number, detail?: string): void {
    let k = this.kinds.get(kind);
    if (!k) this.kinds.set(kind, (k = { count: 0, at: [] }));
    k.count++;
    if (k.at.length < LISTED) k.at.push(at);
    if (detail !== undefined && k.detail === undefined) {
      k.detail = detail;
      k.detailAt = at;
    }
  }

  get count(): number {
    let n = 0;
    for (const k of this.kinds.values()) n += k.count;
    return n;
  }

  /** One message per kind of problem, saying what happened to those records (skipped, or trained on as they are). */
  messages(file: string, outcome: string, level: FileMessage['level'] = 'warning'): FileMessage[] {
    return [...this.kinds].map(([kind, k]) => {
      const units = k.count === 1 ? this.unit : `${this.unit}s`;
      const which =
        k.count === 1
          ? `${units} ${k.at[0]}`
          : `${k.count.toLocaleString('en-US')} ${units} (${k.at.join(', ')}${k.count > k.at.length ? ', …' : ''})`;
      const detail =
        k.detail === undefined ? '' : k.count === 1 ? ` (${k.detail})` : ` (${this.unit} ${k.detailAt}: ${k.detail})`;
      return { file, level, message: `${outcome} ${which}: ${kind}${detail}` };
    });
  }
}
