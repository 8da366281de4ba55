// Generation: Hugging Face-named options, logits processors, samplers, stopping criteria, streaming, KV cache.
//
//   const out = await generate(model, tokenizer, '今天天气很好,我们可以去',
//     { do_sample: true, max_length: 50, top_k: 50, temperature: 0.7, num_return_sequences: 3 },
//     { signal, onToken: (e) => show(e.sequence, e.text) });
//   // or: for await (const e of streamGenerate(model, tokenizer, prompt, options, signal)) { ... }
//
// out.sequences[i] has tokens, text and finishReason ('length' | 'eos' | 'stop_string' | 'aborted');
// out.metadata says whether the window slid past n_positions, the seed used, and prefill/decode timings.
export { generate, streamGenerate, generateWith, drain } from './generate.ts';
export type {
  TokenEvent,
  GeneratedSequence,
  GenerationMetadata,
  GenerationOutput,
  GenerationControl,
  GenerateModelOptions,
} from './generate.ts';
export type { GenerationOptions } from './options.ts';
export type { GenerationTokenizer } from './streamer.ts';
export type { FinishReason } from './stopping.ts';
export { KVCacheDecoder } from './kv_cache.ts';
export { FullPrefixDecoder, type CausalDecoder } from './decoder.ts';
