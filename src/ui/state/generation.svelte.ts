// The generate panel's state: the prompt, the sampling options as typed, and the samples as they stream in.
import { defaultGenText, parseGeneration, type GenName, type GenText } from '../generation_fields.ts';

export type GenerationStatus = 'idle' | 'generating' | 'done' | 'stopped' | 'failed';

export class GenerationSession {
  prompt = $state('');
  text = $state<GenText>(defaultGenText());
  doSample = $state(true);
  /** the prompt is a user message, rendered by the model's chat template; the reply stops at its end of turn */
  chat = $state(false);
  parsed = $derived(parseGeneration(this.text, this.doSample));

  status = $state<GenerationStatus>('idle');
  /** the prompt the current samples continue (or, in chat, answer) */
  shownPrompt = $state('');
  /** whether the current samples are chat replies */
  shownChat = $state(false);
  samples = $state<string[]>([]);
  /** beam search: each sequence's score (summed log-probability / length ** length_penalty), once known */
  scores = $state<number[]>([]);
  message = $state<string | null>(null);

  set(name: Exclude<GenName, 'do_sample'>, value: string): void {
    this.text[name] = value;
  }

  begin(count: number): void {
    this.shownPrompt = this.prompt;
    this.shownChat = this.chat;
    this.samples = Array.from({ length: count }, () => '');
    this.scores = [];
    this.status = 'generating';
    this.message = null;
  }

  /** text completed in sample `index` (whole characters only: the stream decoder holds back partial bytes) */
  append(index: number, text: string): void {
    this.samples[index] += text;
  }

  end(status: 'done' | 'stopped' | 'failed', message: string | null = null, scores: number[] = []): void {
    this.scores = scores;
    this.status = status;
    this.message = message;
  }
}
