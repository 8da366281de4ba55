// What a file is, by its name, and the text of a document file: plain text and Markdown as they are, HTML as its
// text content, PDF through its text layer (pdf_text.ts), Word (.docx) through mammoth's raw text. Record files
// (JSON Lines, JSON, CSV/TSV, Parquet) are read by records.ts.
import { HtmlTextExtractor } from './html_text.ts';
import { DataFileError, readTextChunks, type ReadTextOptions } from './read_text.ts';
import { readAllBytes, type TextSource } from './sources.ts';

export type FileFormat = 'text' | 'html' | 'pdf' | 'docx' | 'jsonl' | 'json' | 'csv' | 'tsv' | 'parquet';

const BY_EXTENSION: Record<string, FileFormat> = {
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  pdf: 'pdf',
  docx: 'docx',
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'json',
  csv: 'csv',
  tsv: 'tsv',
  parquet: 'parquet',
};

/** The format a file's extension names; anything else (.txt, .md, no extension) is read as plain text. */
export function fileFormatOf(name: string): FileFormat {
  const dot = name.lastIndexOf('.');
  return (dot >= 0 && BY_EXTENSION[name.slice(dot + 1).toLowerCase()]) || 'text';
}

/** Formats that hold records (rows with fields) rather than one document. */
export function isRecordFormat(format: FileFormat): boolean {
  return format === 'jsonl' || format === 'json' || format === 'csv' || format === 'tsv' || format === 'parquet';
}

/** The text of a document file in chunks; errors name the file (DataFileError). Record files give their raw text. */
export async function* documentTextChunks(
  source: TextSource,
  options: ReadTextOptions = {},
  format: FileFormat = fileFormatOf(source.name),
): AsyncGenerator<string> {
  if (format === 'text' || isRecordFormat(format)) {
    // A record file read as a document is its text as it is (plain language modelling on it, as before).
    yield* readTextChunks(source, options);
  } else if (format === 'html') {
    const html = new HtmlTextExtractor();
    let any = false;
    for await (const chunk of readTextChunks(source, options)) {
      const text = html.write(chunk);
      any ||= text.length > 0;
      if (text) yield text;
    }
    const rest = html.end();
    if (rest) yield rest;
    else if (!any) throw new DataFileError(source.name, 'has no text outside its markup');
  } else {
    if (source.size === 0) throw new DataFileError(source.name, 'is empty');
    const bytes = await readAllBytes(source);
    options.onBytes?.(source.size);
    if (format === 'pdf') {
      const { pdfText } = await import('./pdf_text.ts');
      yield await pdfText(source.name, bytes);
    } else {
      yield await docxText(source.name, bytes);
    }
  }
}

/** The paragraphs of a Word document (mammoth: Node takes a buffer, its browser build an ArrayBuffer). */
async function docxText(name: string, bytes: Uint8Array): Promise<string> {
  const { default: mammoth } = await import('mammoth');
  const arrayBuffer = bytes.slice().buffer;
  let result: { value: string };
  try {
    result = await mammoth.extractRawText({ buffer: bytes, arrayBuffer } as unknown as { arrayBuffer: ArrayBuffer });
  } catch (e) {
    throw new DataFileError(name, `is not a Word document that can be read (${(e as Error).message})`);
  }
  const text = result.value.trim();
  if (!text) throw new DataFileError(name, 'has no text');
  return text;
}
