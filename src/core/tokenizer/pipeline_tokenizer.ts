// Any Hugging Face tokenizer.json of the kinds causal LMs ship (Llama 2/3, Qwen, Gemma, Mistral, SmolLM2, Pythia):
// added tokens -> normalizer -> pre-tokenizer -> BPE model -> post-processor, and decoders back, each stage as
// the Rust library defines it, with tokenizer_config.json's special tokens, template switches and chat template.
import { AddedTokenMatcher, addedTokensFromJson, type AddedToken } from './added_tokens.ts';
import { BpeModel } from './bpe_model.ts';
import { renderChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat_template.ts';
import { cuttingChunkEncoder, windowStreamDecoder } from './chunked.ts';
import { cleanUpTokenization, decoderFromJson, type Decoder } from './decoders.ts';
import { checkIdsFit, FileField, MAX_TOKEN_IDS, parseJsonObject } from './errors.ts';
import { normalizerFromJson, type Normalizer, type Position } from './normalizers.ts';
import { templateFromJson, type Template } from './post_processors.ts';
import { preTokenizerFromJson, type PreTokenizer } from './pre_tokenizers.ts';
import { EMPTY_CONFIG, generationEosIds, readTokenizerConfig, type TokenizerConfig } from './tokenizer_config.ts';
import type {
  ChunkEncoder,
  DecodeOptions,
  EncodeOptions,
  StreamDecoder,
  Tokenizer,
  TokenizerSummary,
} from './types.ts';

/** A model folder's tokenizer files, as text (generation_config.json parsed). */
export interface HfTokenizerFiles {
  tokenizerJson: string;
  tokenizerConfig?: string;
  specialTokensMap?: string;
  chatTemplate?: string;
  generationConfig?: Record<string, unknown>;
}

/** transformers' Llama and Gemma tokenizers rebuild the template from add_bos_token / add_eos_token. */
const TEMPLATE_FROM_CONFIG = /^(Llama|CodeLlama|Gemma)Tokenizer(Fast)?$/;

/** Names end-of-text tokens go by, for files whose config names none. */
const USUAL_EOS = ['<|endoftext|>', '</s>', '<eos>', '<|end_of_text|>', '<|im_end|>'];

/** Probe texts cut before a space after a letter or digit, to learn whether the pre-tokenizer splits there. */
const CUT_PROBES: [string, string][] = [
  ['Hello', ' world'],
  ['abc123', ' 456'],
  ['x', '  y'],
  ['é', ' 今天'],
  ['it', " 's"],
  ['a', ' \n b'],
  ['end.Word', ' !?'],
];

const LETTER_OR_DIGIT = /[\p{L}\p{N}]$/u;

export class PipelineTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly eosTokenId: number;
  readonly eosTokenIds: readonly number[];
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly specialTokenIds: ReadonlySet<number>;
  readonly summary: TokenizerSummary;
  readonly config: TokenizerConfig;
  /** text per id: the model's vocabulary with added tokens over it */
  readonly tokens: readonly (string | undefined)[];
  private readonly model: BpeModel;
  private readonly normalizer: Normalizer | null;
  private readonly preTokenizer: PreTokenizer | null;
  private readonly decoder: Decoder | null;
  private readonly template: Template;
  private readonly added: AddedToken[];
  private readonly unnormalized: AddedTokenMatcher;
  private readonly normalizedTokens: AddedTokenMatcher;
  private readonly sourceJson: string;
  /** chunked encoding's cuts: 'splits' (the pre-tokenizer cuts there), 'joins' (the model decides), 'none' */
  private readonly cutMode: 'splits' | 'joins' | 'none';
  private readonly spaceUnit: number;

  private constructor(files: HfTokenizerFiles) {
    const json = parseJsonObject(files.tokenizerJson, 'tokenizer.json');
    const root = new FileField('tokenizer.json', '');
    this.sourceJson = files.tokenizerJson;
    this.config =
      files.tokenizerConfig !== undefined || files.specialTokensMap !== undefined || files.chatTemplate !== undefined
        ? readTokenizerConfig(files)
        : EMPTY_CONFIG;

    this.normalizer = normalizerFromJson(json.normalizer, root.at('normalizer'));
    this.preTokenizer = preTokenizerFromJson(json.pre_tokenizer, root.at('pre_tokenizer'));
    // What a space becomes inside text (continuing text: no Prepend), for cutting pieces into words.
    const space = this.normalizer ? this.normalizer.normalize(' ', { atStart: false, continued: true }) : ' ';
    this.spaceUnit = space.length === 1 ? space.charCodeAt(0) : -1;
    this.model = BpeModel.fromJson(json.model, this.preTokenizer?.byteLevel ?? false, root.at('model'), space);
    this.decoder = decoderFromJson(json.decoder, root.at('decoder'));
    this.added = addedTokensFromJson(json.added_tokens, root.at('added_tokens'));
    checkIdsFit(
      this.added.map((a) => [a.content, a.id] as const),
      MAX_TOKEN_IDS,
      root.at('added_tokens'),
    );

    const tokens: (string | undefined)[] = [];
    for (const [t, id] of this.model.vocab.entries()) tokens[id] = t;
    const addedByContent = new Map<string, number>();
    for (const a of this.added) {
      tokens[a.id] = a.content;
      addedByContent.set(a.content, a.id);
    }
    this.tokens = tokens;
    this.vocabSize = tokens.length;
    const idOf = (t: string) => addedByContent.get(t) ?? this.model.vocab.get(t);

    // Added tokens: those marked normalized are found in normalized text, as they normalize.
    const start: Position = { atStart: true, continued: false };
    const normalizedContent = (a: AddedToken) =>
      this.normalizer ? this.normalizer.normalize(a.content, start) : a.content;
    const useNormalized = (a: AddedToken) => a.normalized && this.normalizer !== null;
    this.unnormalized = new AddedTokenMatcher(
      this.added.filter((a) => !useNormalized(a)),
      (a) => a.content,
    );
    this.normalizedTokens = new AddedTokenMatcher(this.added.filter(useNormalized), normalizedContent);

    const c = this.config;
    const specialIds = new Set(this.added.filter((a) => a.special).map((a) => a.id));
    for (const t of [c.bosToken, c.eosToken, c.padToken, c.unkToken, ...c.additionalSpecialTokens]) {
      const id = t === null ? undefined : idOf(t);
      if (id !== undefined) specialIds.add(id);
    }
    this.specialTokenIds = specialIds;

    const fileTemplate = templateFromJson(json.post_processor, idOf, root.at('post_processor')) ?? {
      before: [],
      after: [],
    };
    this.template = this.templateFromConfig(idOf) ?? fileTemplate;

    const roleId = (t: string | null, key: string) => {
      if (t === null) return null;
      const id = idOf(t);
      if (id === undefined)
        throw new FileField('tokenizer_config.json', key).error(
          `names ${JSON.stringify(t)}, which is in no vocabulary`,
        );
      return id;
    };
    this.bosTokenId = roleId(c.bosToken, 'bos_token');
    this.padTokenId = roleId(c.padToken, 'pad_token');
    const unkId = roleId(c.unkToken ?? this.model.unkToken, 'unk_token');
    const generationEos = generationEosIds(files.generationConfig);
    let eos: number | undefined = roleId(c.eosToken, 'eos_token') ?? generationEos[0];
    for (const name of USUAL_EOS) eos ??= addedByContent.get(name);
    if (eos === undefined)
      throw new FileField('tokenizer_config.json', 'eos_token').error(
        'no end-of-text token: neither tokenizer_config.json nor generation_config.json names one',
      );
    this.eosTokenId = eos;
    this.eosTokenIds = generationEos.length ? generationEos : [eos];

    const special: TokenizerSummary['special'] = [];
    for (const [role, content, id] of [
      ['bos', c.bosToken, this.bosTokenId],
      ['eos', c.eosToken ?? tokens[eos] ?? '', eos],
      ['pad', c.padToken, this.padTokenId],
      ['unk', c.unkToken ?? this.model.unkToken, unkId],
    ] as const)
      if (content !== null && id !== null) special.push({ role, content, id });
    this.summary = {
      model: this.model.byteLevel
        ? 'byte-level BPE'
        : `SentencePiece-style BPE${json.model && (json.model as { byte_fallback?: unknown }).byte_fallback ? ' (byte fallback)' : ''}`,
      vocabSize: this.vocabSize,
      special,
      eosTokenIds: [...this.eosTokenIds],
      addedTokens: this.added.length,
      chatTemplate: c.chatTemplate !== null,
      maxLength: c.modelMaxLength,
    };

    this.cutMode = this.learnCutMode();
  }

  static fromFiles(files: HfTokenizerFiles): PipelineTokenizer {
    return new PipelineTokenizer(files);
  }

  static fromJson(tokenizerJson: string): PipelineTokenizer {
    return new PipelineTokenizer({ tokenizerJson });
  }

  /** transformers' update_post_processor for Llama and Gemma: [bos] text [eos] as add_bos_token/add_eos_token say. */
  private templateFromConfig(idOf: (t: string) => number | undefined): Template | null {
    const c = this.config;
    if (!c.tokenizerClass || !TEMPLATE_FROM_CONFIG.test(c.tokenizerClass)) return null;
    if (c.addBosToken === undefined && c.addEosToken === undefined) return null;
    const ids = (on: boolean | undefined, token: string | null, key: string) => {
      if (!on) return [];
      const id = token === null ? undefined : idOf(token);
      if (id === undefined) throw new FileField('tokenizer_config.json', key).error('is true but the token is unknown');
      return [id];
    };
    return {
      before: ids(c.addBosToken ?? true, c.bosToken, 'add_bos_token'),
      after: ids(c.addEosToken, c.eosToken, 'add_eos_token'),
    };
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const withTemplate = options.addSpecialTokens ?? true;
    if (withTemplate) out.push(...this.template.before);
    this.encodeInto(text, false, out);
    if (withTemplate) out.push(...this.template.after);
    return out;
  }

  /** Added tokens first, then normalizer, added tokens of normalized text, pre-tokenizer and model on each stretch. */
  private encodeInto(text: string, continued: boolean, out: number[]): void {
    const pushToken = (a: AddedToken) => out.push(a.id);
    this.unnormalized.split(
      text,
      (start, end) => {
        const at: Position = { atStart: start === 0 && !continued, continued: start === 0 && continued };
        let s = text;
        let a = start;
        let b = end;
        if (this.normalizer) {
          s = this.normalizer.normalize(text.slice(start, end), at);
          a = 0;
          b = s.length;
        } else if (!this.normalizedTokens.empty && (start !== 0 || end !== text.length)) {
          s = text.slice(start, end);
          a = 0;
          b = s.length;
        }
        if (this.normalizedTokens.empty) this.preTokenize(s, a, b, at.atStart, out);
        else this.normalizedTokens.split(s, (x, y) => this.preTokenize(s, x, y, at.atStart && x === 0, out), pushToken);
      },
      pushToken,
    );
  }

  private preTokenize(text: string, start: number, end: number, atStart: boolean, out: number[]): void {
    if (start === end) return;
    if (!this.preTokenizer) this.model.encode(text, start, end, out);
    else this.preTokenizer.split(text, start, end, atStart, (t, a, b) => this.model.encode(t, a, b, out));
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokens[ids[i]];
      if (t === undefined) continue;
      if (options.skipSpecialTokens && this.specialTokenIds.has(ids[i])) continue;
      tokens.push(t);
    }
    let text = this.decoder ? this.decoder(tokens).join('') : tokens.join(' ');
    if (options.cleanUpTokenizationSpaces ?? this.config.cleanUpTokenizationSpaces) text = cleanUpTokenization(text);
    return text;
  }

  createStreamDecoder(context: readonly number[] = []): StreamDecoder {
    // Streamed text is never cleaned up: that could take back a space already shown.
    return windowStreamDecoder((ids) => this.decode(ids, { cleanUpTokenizationSpaces: false }), context);
  }

  createChunkEncoder(): ChunkEncoder {
    return cuttingChunkEncoder(
      (text) => this.cutIndex(text),
      (text, continued) => {
        const out: number[] = [];
        this.encodeInto(text, continued, out);
        return out;
      },
    );
  }

  /** The chat template rendered for these messages, as transformers' apply_chat_template(tokenize=False). */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const template = this.config.chatTemplate;
    if (template === null) throw new Error('this tokenizer has no chat template (tokenizer_config.json has none)');
    const c = this.config;
    const special: Record<string, string> = {};
    for (const [key, value] of [
      ['bos_token', c.bosToken],
      ['eos_token', c.eosToken],
      ['unk_token', c.unkToken],
      ['pad_token', c.padToken],
    ] as const)
      if (value !== null) special[key] = value;
    return renderChatTemplate(template, messages, special, options);
  }

  /** The ids of a chat, as apply_chat_template(tokenize=True): the rendered text with no template tokens added. */
  encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): number[] {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  toTokenizerJson(): string {
    return this.sourceJson;
  }

  /** Pieces of normalized probe text, to compare cut and uncut. */
  private probePieces(text: string, at: Position): string[] {
    const s = this.normalizer ? this.normalizer.normalize(text, at) : text;
    const pieces: string[] = [];
    if (!this.preTokenizer) pieces.push(s);
    else this.preTokenizer.split(s, 0, s.length, at.atStart, (t, a, b) => pieces.push(t.slice(a, b)));
    return pieces;
  }

  /**
   * Whether text cut before a space that follows a letter or digit encodes the same in two parts: the
   * normalizer must act locally, no added token may reach across, and the pre-tokenizer must split there on
   * every probe ('splits'), or leave the two sides one piece for the model to judge ('joins').
   */
  private learnCutMode(): 'splits' | 'joins' | 'none' {
    if (this.normalizer && !this.normalizer.cuttable) return 'none';
    for (const a of this.added) {
      if (/[\p{L}\p{N}] /u.test(a.content)) return 'none';
      if (a.rstrip && LETTER_OR_DIGIT.test(a.content)) return 'none';
      if (a.singleWord && /^\p{White_Space}/u.test(a.content)) return 'none';
    }
    let mode: 'splits' | 'joins' = 'splits';
    for (const [left, right] of CUT_PROBES) {
      const whole = this.probePieces(left + right, { atStart: true, continued: false });
      const l = this.probePieces(left, { atStart: true, continued: false });
      const r = this.probePieces(right, { atStart: false, continued: true });
      const same = (x: string[], y: string[]) => x.length === y.length && x.every((p, k) => p === y[k]);
      if (same(whole, [...l, ...r])) continue;
      const joined = [...l.slice(0, -1), l[l.length - 1] + r[0], ...r.slice(1)];
      if (l.length && r.length && same(whole, joined) && this.spaceUnit >= 0) mode = 'joins';
      else return 'none';
    }
    return mode;
  }

  /** Where streamed text can be cut (0: nowhere yet). */
  private cutIndex(text: string): number {
    if (this.cutMode === 'none') return 0;
    let tries = 0;
    for (let i = text.length - 1; i > 0 && tries < 64; i--) {
      if (text.charCodeAt(i) !== 0x20) continue;
      const before = text.charCodeAt(i - 1);
      const prev = (before & 0xfc00) === 0xdc00 && i >= 2 ? text.slice(i - 2, i) : text[i - 1];
      if (!LETTER_OR_DIGIT.test(prev)) continue;
      if (this.cutMode === 'splits') return i;
      tries++;
      // The model merges across unless the normalized letter before the space never merges with it.
      const left = this.normalizer ? this.normalizer.normalize(prev, { atStart: false, continued: true }) : prev;
      if (left && this.model.canCutBetween(left.charCodeAt(left.length - 1), this.spaceUnit)) return i;
    }
    return 0;
  }
}

export type { ChatMessage, ChatTemplateOptions };
