// Where training data comes from: a dropped File (browser), a path (Node, see node.ts), or bytes held in memory
// (tests, pasted text). Each is read as a stream, so size is not limited by memory; formats that need random
// access (Parquet's footer and row groups) read ranges.

export interface TextSource {
  /** shown in messages and progress */
  readonly name: string;
  /** bytes, for progress */
  readonly size: number;
  /** A fresh stream of the whole content on every call. */
  stream(): ReadableStream<Uint8Array>;
  /** Bytes [start, end), without reading the rest. */
  slice(start: number, end: number): Promise<Uint8Array>;
}

/** The whole content in one array (formats that cannot be streamed: PDF, DOCX, a JSON document). */
export async function readAllBytes(source: TextSource): Promise<Uint8Array> {
  return source.slice(0, source.size);
}

/** A File or Blob: File.stream() reads from disk in chunks. */
export function sourceFromBlob(blob: Blob, name?: string): TextSource {
  return {
    name: name ?? (blob as File).name ?? 'untitled',
    size: blob.size,
    stream: () => blob.stream() as ReadableStream<Uint8Array>,
    slice: async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer()),
  };
}

/** Bytes in memory, served in 64 KiB chunks the way a file stream would be. */
export function sourceFromBytes(name: string, bytes: Uint8Array, chunkSize = 1 << 16): TextSource {
  return {
    name,
    size: bytes.length,
    stream: () => {
      let at = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (at >= bytes.length) {
            controller.close();
            return;
          }
          controller.enqueue(bytes.slice(at, at + chunkSize));
          at += chunkSize;
        },
      });
    },
    slice: async (start, end) => bytes.subarray(start, end),
  };
}

export function sourceFromText(name: string, text: string): TextSource {
  return sourceFromBytes(name, new TextEncoder().encode(text));
}
