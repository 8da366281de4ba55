// One record into one training example as TRL's SFTTrainer prepares it: the ids, and which of them count for the
// loss (the rest get label −100). The record's shape decides, as in TRL:
// - "prompt" and "completion" (strings, or lists of messages): the prompt's ids, then the completion's; with
//   completion_only_loss (TRL's default for this shape) only the completion counts;
// - "messages" (or ShareGPT's "conversations" of {from, value}, renamed as TRL does): the chat template's
//   rendering; with assistant_only_loss only the assistant turns count;
// - otherwise dataset_text_field ("text"): every token counts.
// Strings get eos_token appended unless they end with it; conversations end as their template ends them.
import type { Tokenizer } from '../tokenizer/types.ts';
import { chatTokens, type ChatFormatter, type ChatMessage } from './chat.ts';
import type { Fields } from './records.ts';

/** The SFTConfig fields that shape the data, under TRL's names and with TRL's defaults. */
export interface SftConfig {
  /** the field plain-text records are read from */
  dataset_text_field: string;
  /** examples are cut to this many tokens (packing: the length of a packed row) */
  max_length: number;
  packing: boolean;
  /** "bfd": best-fit decreasing, cutting each example to max_length; "bfd_split": splitting it instead; "wrapped" */
  packing_strategy: 'bfd' | 'bfd_split' | 'wrapped';
  /** null: true for prompt-completion records (TRL's default), which are the only ones it applies to */
  completion_only_loss: boolean | null;
  assistant_only_loss: boolean;
  /** appended to strings; null: the tokenizer's end-of-text token */
  eos_token: string | null;
}

export const DEFAULT_SFT_CONFIG: SftConfig = {
  dataset_text_field: 'text',
  max_length: 1024,
  packing: false,
  packing_strategy: 'bfd',
  completion_only_loss: null,
  assistant_only_loss: false,
  eos_token: null,
};

/** An example: its ids and, per id, 1 when it counts for the loss; mask null when every id counts. */
export interface Example {
  ids: number[];
  mask: Uint8Array | null;
}

/** Why a record gives no example: a phrase for "skipped record 7: ...". */
export class RecordError extends Error {
  constructor(
    /** the kind of problem, shared by every record that has it */
    readonly kind: string,
    /** what this record shows (its fields, a template's error), or undefined */
    readonly detail?: string,
  ) {
    super(detail ? `${kind} (${detail})` : kind);
  }
}

/** What turns records into examples: the tokenizer, the chat template (for conversations) and the config. */
export interface ExampleMaker {
  tokenizer: Tokenizer;
  chat: ChatFormatter | null;
  config: SftConfig;
  /** the end-of-text text appended to strings */
  eos: string;
}

export function exampleMaker(tokenizer: Tokenizer, chat: ChatFormatter | null, config: SftConfig): ExampleMaker {
  return { tokenizer, chat, config, eos: config.eos_token ?? tokenizer.decode([tokenizer.eosTokenId]) };
}

/** Notes about a record that still gave an example. */
export interface ExampleNotes {
  /** its rendered prompt did not tokenize as the start of prompt and completion (TRL warns the same) */
  prefixMismatch?: boolean;
  /** a conversation without an assistant turn, trained on whole (assistant_only_loss is off) */
  noAssistant?: boolean;
}

function messagesOf(value: unknown, field: string): ChatMessage[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  if (!value.every((m) => typeof m === 'object' && m !== null && !Array.isArray(m))) return null;
  const out = (value as Record<string, unknown>[]).map((m) => {
    // ShareGPT's {from, value}, renamed as TRL's maybe_convert_to_chatml does (the roles stay as they are)
    const { from, value: v, ...rest } = m;
    return { ...rest, ...(from !== undefined ? { role: from } : {}), ...(v !== undefined ? { content: v } : {}) };
  });
  if (!out.every((m) => typeof m.role === 'string')) throw new RecordError(`'${field}' has a message without a role`);
  return out as ChatMessage[];
}

function text(fields: Fields, field: string): string {
  const v = fields[field];
  if (v === null || v === undefined) throw new RecordError(`'${field}' is empty`);
  if (typeof v !== 'string')
    throw new RecordError(`'${field}' is not text`, `a ${Array.isArray(v) ? 'list' : typeof v}`);
  return v;
}

const withEos = (s: string, eos: string) => (s.endsWith(eos) ? s : s + eos);

/** The example of one record, or a RecordError saying why it has none. */
export function makeExample(fields: Fields, maker: ExampleMaker, notes: ExampleNotes = {}): Example {
  const { tokenizer, chat, config, eos } = maker;
  const hasPrompt = 'prompt' in fields;
  const hasCompletion = 'completion' in fields;
  const conversation = 'messages' in fields ? 'messages' : 'conversations' in fields ? 'conversations' : null;
  const needChat = () => {
    if (!chat) throw new RecordError('is a conversation, and the tokenizer has no chat template');
    return chat;
  };
  const notAChat = () => {
    if (config.assistant_only_loss)
      throw new RecordError('is not a conversation; assistant_only_loss applies only to conversations (messages)');
  };

  if (hasPrompt || hasCompletion) {
    if (!hasPrompt || !hasCompletion)
      throw new RecordError(hasPrompt ? "has 'prompt' but no 'completion'" : "has 'completion' but no 'prompt'");
    const prompt = messagesOf(fields.prompt, 'prompt');
    const completion = messagesOf(fields.completion, 'completion');
    const onlyCompletion = config.completion_only_loss ?? true;
    let promptIds: number[];
    let ids: number[];
    let assistant: Uint8Array | null = null;
    if (prompt && completion) {
      const c = needChat();
      promptIds = c.encode(c.apply(prompt, { addGenerationPrompt: true }));
      if (config.assistant_only_loss) {
        const t = chatTokens([...prompt, ...completion], c);
        ids = t.ids;
        assistant = t.assistantMask;
      } else ids = c.encode(c.apply([...prompt, ...completion], { addGenerationPrompt: false }));
    } else if (prompt || completion) {
      throw new RecordError('mixes a conversation and a string in prompt and completion');
    } else {
      notAChat();
      const p = text(fields, 'prompt');
      promptIds = tokenizer.encode(p);
      ids = tokenizer.encode(p + withEos(text(fields, 'completion'), eos));
    }
    for (let i = 0; i < promptIds.length; i++) if (promptIds[i] !== ids[i]) notes.prefixMismatch = true;
    let mask: Uint8Array | null = null;
    if (onlyCompletion) mask = new Uint8Array(ids.length).fill(1, Math.min(promptIds.length, ids.length));
    if (assistant) {
      if (!assistant.includes(1)) throw new RecordError('has no assistant turn');
      mask = mask ? mask.map((v, i) => v & assistant[i]) : assistant;
    }
    return { ids, mask };
  }

  if (conversation) {
    const messages = messagesOf(fields[conversation], conversation);
    if (!messages) throw new RecordError(`'${conversation}' is not a list of messages ({role, content})`);
    const c = needChat();
    const hasAssistant = messages.some((m) => m.role === 'assistant');
    if (!config.assistant_only_loss) {
      if (!hasAssistant) notes.noAssistant = true;
      return { ids: c.encode(c.apply(messages, { addGenerationPrompt: false })), mask: null };
    }
    if (!hasAssistant)
      throw new RecordError('has no assistant turn', `roles: ${[...new Set(messages.map((m) => m.role))].join(', ')}`);
    const t = chatTokens(messages, c);
    if (t.assistantTurns === 0) throw new RecordError('has no assistant turn the chat template renders');
    if (t.prefixMismatch) notes.prefixMismatch = true;
    return { ids: t.ids, mask: t.assistantMask };
  }

  const field = config.dataset_text_field;
  if (!(field in fields)) {
    throw new RecordError(
      `has no '${field}' field (nor prompt/completion or messages)`,
      `its fields: ${Object.keys(fields).join(', ') || 'none'}`,
    );
  }
  notAChat();
  return { ids: tokenizer.encode(withEos(text(fields, field), eos)), mask: null };
}
