// Streams a source as text, refusing what is not text: empty files, binary files (NUL bytes or
// mostly invalid UTF-8). A UTF-8 byte-order mark is dropped and a UTF-16 file is decoded as such,
// each with a warning naming the file, since the user may not know the file is unusual.
// Decoding uses TextDecoder's stream mode (what TextDecoderStream wraps) so that the first bytes
// can be inspected before choosing the decoder; File.stream() and Node streams feed it alike.
import { concatBytes } from '../util/bytes.ts';

export type MessageLevel = 'error' | 'warning';

export interface FileMessage {
  file: string;
  level: MessageLevel;
  /** what is wrong, as a phrase to follow the file's name ("is empty") */
  message: string;
}

/** A file that cannot be used; the message names it. Other files go on loading. */
export class DataFileError extends Error {
  constructor(
    readonly file: string,
    /** the message without the file's name */
    readonly detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'DataFileError';
  }
}

/** The FileMessage for a file that failed to load, whatever the error. */
export function fileErrorMessage(file: string, e: unknown): FileMessage {
  const message =
    e instanceof DataFileError ? e.detail : `could not be read (${e instanceof Error ? e.message : String(e)})`;
  return { file, level: 'error', message };
}

/** How much of the start is inspected before decoding begins. */
const SNIFF_BYTES = 1 << 16;
/** More invalid UTF-8 than this share of the characters in the sniffed start means binary. */
const MAX_INVALID_SHARE = 0.1;

export interface ReadTextOptions {
  /** bytes read so far, after each chunk */
  onBytes?: (bytesDone: number) => void;
  /** warnings about the file (errors are thrown as DataFileError) */
  onMessage?: (m: FileMessage) => void;
}

/** Decoded text of the source in chunks of whole characters, in order. */
export async function* readTextChunks(
  source: { name: string; stream(): ReadableStream<Uint8Array> },
  options: ReadTextOptions = {},
): AsyncGenerator<string> {
  const reader = source.stream().getReader();
  const warn = (message: string) => options.onMessage?.({ file: source.name, level: 'warning', message });
  const head: Uint8Array[] = [];
  let headBytes = 0;
  let done = false;
  try {
    while (headBytes < SNIFF_BYTES) {
      const r = await reader.read();
      if (r.done) {
        done = true;
        break;
      }
      head.push(r.value);
      headBytes += r.value.length;
    }
    const start = concatBytes(head);
    let bytesDone = headBytes;
    options.onBytes?.(bytesDone);

    const decoder = chooseDecoder(source.name, start, warn);
    let invalid = 0;
    let chars = 0;
    const emit = (text: string): string => {
      chars += text.length;
      for (let i = text.indexOf('\ufffd'); i >= 0; i = text.indexOf('\ufffd', i + 1)) invalid++;
      return text;
    };
    const first = emit(decoder.decode(start, { stream: !done }));
    if (decoder.encoding === 'utf-8' && invalid > Math.max(8, chars * MAX_INVALID_SHARE)) {
      throw new DataFileError(
        source.name,
        'is not UTF-8 text (most of its start is not valid UTF-8; is it a binary file?)',
      );
    }
    if (first) yield first;
    while (!done) {
      const r = await reader.read();
      if (r.done) break;
      bytesDone += r.value.length;
      const text = emit(decoder.decode(r.value, { stream: true }));
      options.onBytes?.(bytesDone);
      if (text) yield text;
    }
    const rest = done ? '' : emit(decoder.decode());
    if (rest) yield rest;
    if (invalid > 0) warn(`has ${invalid} invalid UTF-8 sequence(s), read as \ufffd`);
  } finally {
    reader.releaseLock();
  }
}

function chooseDecoder(name: string, start: Uint8Array, warn: (m: string) => void): TextDecoder {
  if (start.length === 0) throw new DataFileError(name, 'is empty');
  if (start[0] === 0x50 && start[1] === 0x4b && (start[2] === 3 || start[2] === 5) && start[3] === start[2] + 1) {
    throw new DataFileError(
      name,
      'is a zip archive, not text: a model or checkpoint zip is imported as a model (Import under Checkpoints on the page, --model FILE.zip on the command line); text files in a zip have to be unpacked first',
    );
  }
  if (start[0] === 0xff && start[1] === 0xfe) {
    warn('is UTF-16 (little-endian) text; it was read as such, but UTF-8 files are smaller and safer');
    return new TextDecoder('utf-16le');
  }
  if (start[0] === 0xfe && start[1] === 0xff) {
    warn('is UTF-16 (big-endian) text; it was read as such, but UTF-8 files are smaller and safer');
    return new TextDecoder('utf-16be');
  }
  if (start[0] === 0xef && start[1] === 0xbb && start[2] === 0xbf) {
    // TextDecoder drops a leading UTF-8 BOM by itself (ignoreBOM defaults to false).
    warn('starts with a UTF-8 byte-order mark; the mark was dropped');
  }
  if (start.includes(0)) {
    // ASCII text saved as UTF-16 without a mark has a NUL in every other byte.
    const n = Math.min(start.length, 1024) & ~1;
    let evenNul = 0;
    let oddNul = 0;
    for (let i = 0; i < n; i += 2) {
      if (start[i] === 0) evenNul++;
      if (start[i + 1] === 0) oddNul++;
    }
    if (n >= 16 && Math.max(evenNul, oddNul) > 0.4 * (n / 2) && Math.min(evenNul, oddNul) < 0.05 * (n / 2)) {
      throw new DataFileError(name, 'looks like UTF-16 text without a byte-order mark; save it as UTF-8');
    }
    throw new DataFileError(name, 'holds NUL bytes: it looks like a binary file, not text');
  }
  return new TextDecoder('utf-8');
}
