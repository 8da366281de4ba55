// Conversations as the model sees them: rendered by the model's chat template, and which of their tokens are the
// assistant's. The template itself belongs to the tokenizer (apply_chat_template); this layer needs only what the
// ChatFormatter interface below says.
import { PipelineTokenizer } from '../tokenizer/pipeline_tokenizer.ts';
import type { Tokenizer } from '../tokenizer/types.ts';
import { tokenizerFromHfFiles } from '../tokenizer/index.ts';

/** One message of a conversation, as in a dataset's "messages" column (further keys pass to the template). */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

/** What fine-tuning and chat generation need from a model's chat template; a tokenizer with one provides it. */
export interface ChatFormatter {
  /** transformers' apply_chat_template(messages, tokenize=False, add_generation_prompt) */
  apply(messages: readonly ChatMessage[], options: { addGenerationPrompt: boolean }): string;
  /**
   * The ids of rendered template text, as apply_chat_template(tokenize=True) gives them: the template writes its
   * special tokens itself, so the tokenizer adds none (no second BOS).
   */
  encode(text: string): number[];
  /** The template's source: fine-tuning data is cached per template. */
  readonly template: string;
  /** The token that ends an assistant turn ("<|im_end|>", "<|eot_id|>"): chat generation stops there. */
  readonly endOfTurnToken: string;
}

/** A conversation's ids and, per token, whether it belongs to an assistant turn (1) or not (0). */
export interface ChatTokens {
  ids: number[];
  assistantMask: Uint8Array;
  /** assistant turns whose tokens were found */
  assistantTurns: number;
  /**
   * Whether some rendering of the conversation up to a turn did not tokenize as the start of the whole (the
   * template renders earlier turns differently once more follow); the turn's tokens were then counted by position.
   */
  prefixMismatch: boolean;
}

/**
 * The conversation's ids, with each assistant turn marked as TRL marks a completion: from the end of the
 * conversation before the turn rendered with add_generation_prompt, to the end of the conversation rendered
 * through the turn. So the mark covers the turn's content and the template's end-of-turn token (the model learns
 * to stop), and not the assistant header the template writes before it. TRL's assistant_only_loss marks what a
 * template wraps in {% generation %}; Hearth finds the turns from the template as it is, so any chat template
 * serves (@huggingface/jinja drops {% generation %} markers without rendering them). A template that renders a
 * turn differently once more turns follow (Qwen 3 drops its empty <think> block from earlier turns) is not
 * prefix-preserving: such a turn ends at its first end-of-turn token instead, and prefixMismatch says so.
 */
export function chatTokens(messages: readonly ChatMessage[], chat: ChatFormatter): ChatTokens {
  const ids = chat.encode(chat.apply(messages, { addGenerationPrompt: false }));
  const assistantMask = new Uint8Array(ids.length);
  const endOfTurn = chat.encode(chat.endOfTurnToken);
  let assistantTurns = 0;
  let prefixMismatch = false;
  /** How many leading ids of the conversation rendered up to a message match the whole; whether all do. */
  const sharedStart = (upTo: number, addGenerationPrompt: boolean): { length: number; whole: boolean } => {
    const p = chat.encode(chat.apply(messages.slice(0, upTo), { addGenerationPrompt }));
    let n = 0;
    while (n < p.length && n < ids.length && p[n] === ids[n]) n++;
    if (n < p.length) prefixMismatch = true;
    return { length: n, whole: n === p.length };
  };
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const start = sharedStart(i, true).length;
    const through = sharedStart(i + 1, false);
    let end = through.length;
    if (!through.whole) {
      const eot = endOfTurn.length === 1 ? ids.indexOf(endOfTurn[0], start) : -1;
      if (eot >= 0) end = eot + 1;
    }
    if (end > start) {
      assistantMask.fill(1, start, end);
      assistantTurns++;
    }
  });
  return { ids, assistantMask, assistantTurns, prefixMismatch };
}

/** The ChatFormatter of a tokenizer with a chat template (tokenizer_config.json's), or null without one. */
export function chatFormatterOf(tokenizer: Tokenizer): ChatFormatter | null {
  if (!(tokenizer instanceof PipelineTokenizer)) return null;
  const { chatTemplate, eosToken } = tokenizer.config;
  if (chatTemplate === null) return null;
  return {
    apply: (messages, options) => tokenizer.applyChatTemplate(messages, options),
    encode: (text) => tokenizer.encode(text, { addSpecialTokens: false }),
    template: chatTemplate,
    endOfTurnToken: eosToken ?? tokenizer.decode([tokenizer.eosTokenId]),
  };
}

/**
 * The chat template given to a new model whose tokenizer has none (GPT-2's): ChatML's turns, each closed by the
 * end-of-text token, which is then the end-of-turn token chat generation stops at. Like TRL's clone_chat_template
 * it gives the model a format to learn; unlike ChatML it needs no new tokens, so the vocabulary stays as it is.
 */
export const DEFAULT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + eos_token }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/**
 * The tokenizer with this chat template (and its end-of-text token named as eos_token), as a tokenizer_config.json
 * would give it; null for a character vocabulary, whose tokenizer.json has no room for one.
 */
export function withChatTemplate(tokenizer: Tokenizer, template: string): Tokenizer | null {
  if (tokenizer.kind === 'char') return null;
  const eos = tokenizer.decode([tokenizer.eosTokenId]);
  return tokenizerFromHfFiles({
    tokenizerJson: tokenizer.toTokenizerJson(),
    tokenizerConfig: JSON.stringify({ eos_token: eos, chat_template: template }),
  });
}

/**
 * A chat turn's prompt for generation: the conversation rendered with add_generation_prompt (the assistant's header
 * written, its reply to come), as ids, and the ids generation stops at: the template's end-of-turn token, and the
 * tokenizer's end-of-text ids.
 */
export function chatGenerationPrompt(
  chat: ChatFormatter,
  messages: readonly ChatMessage[],
  eosTokenIds: readonly number[],
): { ids: number[]; stopIds: number[] } {
  const ids = chat.encode(chat.apply(messages, { addGenerationPrompt: true }));
  const endOfTurn = chat.encode(chat.endOfTurnToken);
  const stopIds = [...new Set([...(endOfTurn.length === 1 ? endOfTurn : []), ...eosTokenIds])];
  return { ids, stopIds };
}
