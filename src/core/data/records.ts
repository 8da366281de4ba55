// Records (rows of named fields) from the files Hugging Face datasets come in: JSON Lines and CSV/TSV streamed
// line by line, Parquet a row group at a time (hyparquet, with the codecs of parquet_codecs.ts), a JSON
// document whole. A record that cannot be read is noted (RecordProblems) and skipped; a file that cannot be read
// at all throws a DataFileError naming it, and the other files go on loading.
import Papa from 'papaparse';
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer } from 'hyparquet';
import { fileFormatOf, type FileFormat } from './documents.ts';
import { parquetCodecs } from './parquet_codecs.ts';
import { DataFileError, readTextChunks, type ReadTextOptions } from './read_text.ts';
import type { RecordProblems } from './record_problems.ts';
import type { TextSource } from './sources.ts';

export type Fields = Record<string, unknown>;

export interface DataRecord {
  fields: Fields;
  /** its number in the file, 1-based, in the file's unit (problems.unit) */
  at: number;
}

export interface ReadRecordsOptions extends ReadTextOptions {
  /** where records that cannot be read are noted; its unit is set to the format's */
  problems: RecordProblems;
  /**
   * The file's columns, for formats that name them before any record (a CSV header, a Parquet schema). It may
   * throw to refuse the file, and may return the columns to read (Parquet reads only those).
   */
  onColumns?: (columns: string[]) => string[] | void;
}

const isPlainObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function* readRecords(
  source: TextSource,
  options: ReadRecordsOptions,
  format: FileFormat = fileFormatOf(source.name),
): AsyncGenerator<DataRecord> {
  if (format === 'jsonl') yield* jsonLines(readTextChunks(source, options), options.problems);
  else if (format === 'json') yield* jsonDocument(source, options);
  else if (format === 'csv' || format === 'tsv') yield* delimited(source, format === 'csv' ? ',' : '\t', options);
  else if (format === 'parquet') yield* parquetRows(source, options);
  else throw new DataFileError(source.name, `is a document (${format}), not a file of records`);
}

async function* jsonLines(
  chunks: AsyncIterable<string> | Iterable<string>,
  problems: RecordProblems,
): AsyncGenerator<DataRecord> {
  problems.unit = 'line';
  let carry = '';
  let line = 0;
  const parse = (text: string): DataRecord | null => {
    line++;
    if (!text.trim()) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      problems.add('not JSON', line, (e as Error).message);
      return null;
    }
    if (!isPlainObject(value)) {
      problems.add('not a JSON object ({...})', line);
      return null;
    }
    return { fields: value, at: line };
  };
  for await (const chunk of chunks) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop()!;
    for (const l of lines) {
      const r = parse(l);
      if (r) yield r;
    }
  }
  const r = parse(carry);
  if (r) yield r;
}

/**
 * A JSON document: a list of records, a record of equal-length columns, or an object with one list of records
 * (as Hugging Face's json loader reads them); a .json file that is JSON Lines is read as such.
 */
async function* jsonDocument(source: TextSource, options: ReadRecordsOptions): AsyncGenerator<DataRecord> {
  let text = '';
  for await (const chunk of readTextChunks(source, options)) text += chunk;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    if (/^\s*\{[^\n]*\}\s*\r?\n\s*\{/.test(text)) {
      yield* jsonLines([text], options.problems); // JSON Lines under a .json name
      return;
    }
    throw new DataFileError(source.name, `is not valid JSON (${(e as Error).message})`);
  }
  const problems = options.problems;
  problems.unit = 'record';
  let list: unknown[];
  if (Array.isArray(value)) list = value;
  else if (isPlainObject(value)) {
    const entries = Object.entries(value);
    const lists = entries.filter(([, v]) => Array.isArray(v)) as [string, unknown[]][];
    const rows = lists.length ? lists[0][1].length : -1;
    if (lists.length === entries.length && lists.length > 0 && lists.every(([, v]) => v.length === rows)) {
      // columns: {"prompt": [...], "completion": [...]}
      list = Array.from({ length: rows }, (_, i) => Object.fromEntries(lists.map(([k, v]) => [k, v[i]])));
    } else if (lists.length === 1 && lists[0][1].every(isPlainObject)) {
      list = lists[0][1];
      options.onMessage?.({
        file: source.name,
        level: 'warning',
        message: `is one JSON object; its records were read from its list '${lists[0][0]}'`,
      });
    } else {
      throw new DataFileError(source.name, 'holds one JSON object, not a list of records');
    }
  } else {
    throw new DataFileError(source.name, 'holds a single JSON value, not a list of records');
  }
  for (let i = 0; i < list.length; i++) {
    if (isPlainObject(list[i])) yield { fields: list[i] as Fields, at: i + 1 };
    else problems.add('not a JSON object ({...})', i + 1);
  }
}

/** The line ending of delimited text, from its start (Papa's low-level parser needs it said). */
function lineEnding(start: string): string {
  const n = start.indexOf('\n');
  if (n > 0 && start[n - 1] === '\r') return '\r\n';
  if (n < 0 && start.includes('\r')) return '\r';
  return '\n';
}

/**
 * CSV or TSV with a header row (as Hugging Face's csv loader, pandas, reads it), through Papa Parse's parser fed
 * chunk by chunk: each call parses the complete rows and hands back where the last one ended, and the rest waits
 * for the next chunk (a quoted field may hold line breaks).
 */
async function* delimited(
  source: TextSource,
  delimiter: string,
  options: ReadRecordsOptions,
): AsyncGenerator<DataRecord> {
  const problems = options.problems;
  problems.unit = 'row';
  let parser: Papa.Parser | null = null;
  let header: string[] | null = null;
  let partial = '';
  let base = 0;
  let row = 0;
  const take = (rows: string[][], errors: Papa.ParseError[]): DataRecord[] => {
    const out: DataRecord[] = [];
    const failed = new Map<number, string>();
    for (const e of errors) if (e.row !== undefined) failed.set(e.row, e.message);
    rows.forEach((fields, i) => {
      if (fields.length === 1 && fields[0] === '') return; // an empty line
      if (!header) {
        header = fields;
        options.onColumns?.(header);
        return;
      }
      row++;
      const problem = failed.get(i);
      if (problem !== undefined) problems.add('not well-formed', row, problem);
      else if (fields.length !== header.length)
        problems.add(`has a different number of fields from the header's ${header.length}`, row, `${fields.length}`);
      else out.push({ fields: Object.fromEntries(header.map((h, k) => [h, fields[k]])), at: row });
    });
    return out;
  };
  for await (const chunk of readTextChunks(source, options)) {
    parser ??= new Papa.Parser({ delimiter, newline: lineEnding(chunk) as Papa.ParseConfig['newline'] });
    const text = partial + chunk;
    const r = parser.parse(text, base, true) as unknown as Papa.ParseResult<string[]>;
    yield* take(r.data, r.errors);
    partial = text.substring(r.meta.cursor - base);
    base = r.meta.cursor;
  }
  if (parser && partial) {
    const r = parser.parse(partial, base, false) as unknown as Papa.ParseResult<string[]>;
    yield* take(r.data, r.errors);
  }
  if (!header) throw new DataFileError(source.name, 'has no header row');
}

/** Parquet's row groups one at a time, reading only the columns asked for. */
async function* parquetRows(source: TextSource, options: ReadRecordsOptions): AsyncGenerator<DataRecord> {
  options.problems.unit = 'row';
  const file: AsyncBuffer = {
    byteLength: source.size,
    slice: async (start, end) => {
      const bytes = await source.slice(start, end ?? source.size);
      return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? (bytes.buffer as ArrayBuffer)
        : (bytes.slice().buffer as ArrayBuffer);
    },
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (e) {
    throw new DataFileError(source.name, `is not a Parquet file that can be read (${(e as Error).message})`);
  }
  const top = metadata.schema[0].num_children ?? 0;
  const names: string[] = [];
  // Top-level columns: walk the flattened schema, skipping each column's nested children.
  for (let i = 1, left = top; left > 0 && i < metadata.schema.length; left--) {
    names.push(metadata.schema[i].name);
    let skip = metadata.schema[i].num_children ?? 0;
    i++;
    while (skip > 0) {
      skip += (metadata.schema[i].num_children ?? 0) - 1;
      i++;
    }
  }
  const columns = options.onColumns?.(names) ?? names;
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const rowEnd = rowStart + Number(group.num_rows);
    let rows: Fields[];
    try {
      const read = { file, metadata, columns, rowStart, rowEnd, compressors: parquetCodecs };
      rows = (await parquetReadObjects(read)) as Fields[];
    } catch (e) {
      throw new DataFileError(
        source.name,
        `could not be read past row ${rowStart} (${(e as Error).message}); the rows before it were kept`,
      );
    }
    for (let i = 0; i < rows.length; i++) yield { fields: rows[i], at: rowStart + i + 1 };
    rowStart = rowEnd;
    options.onBytes?.(Math.round((source.size * rowStart) / Math.max(1, Number(metadata.num_rows))));
  }
}
