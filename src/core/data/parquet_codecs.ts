// Parquet's page codecs, written in plain JavaScript. The page's Content-Security-Policy forbids compiling
// WebAssembly, and hyparquet-compressors' ready-made map builds a WebAssembly Snappy decoder as soon as it is
// imported, so the map is assembled here from its JavaScript decoders: Snappy is hyparquet's own (the default
// when a codec is not in the map), gzip is fflate's, Zstandard is fzstd's, Brotli and LZ4 are
// hyparquet-compressors'.
import { gunzipSync } from 'fflate';
import { decompress as decompressZstd } from 'fzstd';
import type { Compressors } from 'hyparquet';
import { decompressBrotli } from 'hyparquet-compressors/src/brotli.js';
import { decompressLz4, decompressLz4Raw } from 'hyparquet-compressors/src/lz4.js';

export const parquetCodecs: Compressors = {
  GZIP: (input, length) => gunzipSync(input, { out: new Uint8Array(length) }),
  ZSTD: (input) => decompressZstd(input),
  BROTLI: decompressBrotli,
  LZ4: decompressLz4,
  LZ4_RAW: decompressLz4Raw,
};
