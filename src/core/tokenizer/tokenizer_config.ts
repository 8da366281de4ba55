// tokenizer_config.json (and special_tokens_map.json, chat_template.jinja, generation_config.json's eos ids): the
// model's special tokens, whether BOS/EOS are added, its maximum length and its chat template, read as
// transformers reads them.
import { FileField, parseJsonObject } from './errors.ts';

export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
  additionalSpecialTokens: string[];
  /** undefined: the config does not say (the tokenizer.json's post-processor decides) */
  addBosToken?: boolean;
  addEosToken?: boolean;
  /** null: no limit (transformers writes 1e30 for "none") */
  modelMaxLength: number | null;
  /** the default chat template (a list of named templates gives its "default" one) */
  chatTemplate: string | null;
  cleanUpTokenizationSpaces: boolean;
  tokenizerClass: string | null;
}

export const EMPTY_CONFIG: TokenizerConfig = {
  bosToken: null,
  eosToken: null,
  padToken: null,
  unkToken: null,
  additionalSpecialTokens: [],
  modelMaxLength: null,
  chatTemplate: null,
  cleanUpTokenizationSpaces: false,
  tokenizerClass: null,
};

/** A token as the config writes it: its text, or an AddedToken object with a content field. */
function tokenText(value: unknown, field: FileField): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string')
    return (value as { content: string }).content;
  throw field.error('must be a token (a string, or an object with "content")');
}

function chatTemplateOf(value: unknown, field: FileField): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const pick = named.find((t) => t?.name === 'default') ?? named[0];
    if (pick && typeof pick.template === 'string') return pick.template;
  }
  throw field.error('must be a template string or a list of {name, template}');
}

export interface ConfigFiles {
  tokenizerConfig?: string;
  specialTokensMap?: string;
  chatTemplate?: string;
}

export function readTokenizerConfig(files: ConfigFiles): TokenizerConfig {
  const config: TokenizerConfig = { ...EMPTY_CONFIG, additionalSpecialTokens: [] };
  const sources: [string, Record<string, unknown>][] = [];
  if (files.specialTokensMap !== undefined)
    sources.push(['special_tokens_map.json', parseJsonObject(files.specialTokensMap, 'special_tokens_map.json')]);
  if (files.tokenizerConfig !== undefined)
    sources.push(['tokenizer_config.json', parseJsonObject(files.tokenizerConfig, 'tokenizer_config.json')]);
  // tokenizer_config.json is read last: where both files name a token, it wins.
  for (const [file, json] of sources) {
    const f = new FileField(file, '');
    for (const [key, prop] of [
      ['bos_token', 'bosToken'],
      ['eos_token', 'eosToken'],
      ['pad_token', 'padToken'],
      ['unk_token', 'unkToken'],
    ] as const) {
      if (key in json) config[prop] = tokenText(json[key], f.at(key));
    }
    if (Array.isArray(json.additional_special_tokens))
      config.additionalSpecialTokens = json.additional_special_tokens.map((t, k) =>
        tokenText(t, f.at('additional_special_tokens').at(k)),
      ) as string[];
    if (file !== 'tokenizer_config.json') continue;
    for (const [key, prop] of [
      ['add_bos_token', 'addBosToken'],
      ['add_eos_token', 'addEosToken'],
    ] as const) {
      const v = json[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'boolean') throw f.at(key).error('must be true or false');
      config[prop] = v;
    }
    const max = json.model_max_length;
    if (typeof max === 'number' && Number.isFinite(max) && max > 0 && max < 1e18) config.modelMaxLength = max;
    config.chatTemplate = chatTemplateOf(json.chat_template, f.at('chat_template'));
    config.cleanUpTokenizationSpaces = json.clean_up_tokenization_spaces === true;
    if (typeof json.tokenizer_class === 'string') config.tokenizerClass = json.tokenizer_class;
  }
  // Newer repositories keep the template in a file of its own, which transformers prefers.
  if (files.chatTemplate !== undefined) config.chatTemplate = files.chatTemplate;
  return config;
}

/** generation_config.json's eos_token_id: one id or a list (generation stops on any of them). */
export function generationEosIds(generationConfig: Record<string, unknown> | undefined): number[] {
  const v = generationConfig?.eos_token_id;
  const ids = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  if (!ids.every((x) => Number.isInteger(x) && x >= 0))
    throw new FileField('generation_config.json', 'eos_token_id').error('must be a token id or a list of them');
  return ids as number[];
}
