// Where training text comes from: a dropped File (browser), a path (Node, see node.ts), or text
// held in memory (tests, pasted text). Each is read as a stream, so size is not limited by memory.

export interface TextSource {
  /** shown in messages and progress */
  readonly name: string;
  /** bytes, for progress */
  readonly size: number;
  /** A fresh stream of the whole content on every call. */
  stream(): ReadableStream<Uint8Array>;
}

/** A File or Blob: File.stream() reads from disk in chunks. */
export function sourceFromBlob(blob: Blob, name?: string): TextSource {
  return {
    name: name ?? (blob as File).name ?? 'untitled',
    size: blob.size,
    stream: () => blob.stream() as ReadableStream<Uint8Array>,
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
  };
}

export function sourceFromText(name: string, text: string): TextSource {
  return sourceFromBytes(name, new TextEncoder().encode(text));
}
