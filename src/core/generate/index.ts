// Generation: HF-named options, logits processors, samplers, stopping criteria, streaming, the KV cache.
export { generate, streamGenerate, generateWith, drain } from './generate.ts';
export type { TokenEvent, GeneratedSequence, GenerationMetadata, GenerationOutput, GenerationControl, GenerateModelOptions } from './generate.ts';
export type { GenerationOptions } from './options.ts';
export type { GenerationTokenizer } from './streamer.ts';
export type { FinishReason } from './stopping.ts';
export { KVCacheDecoder } from './kv_cache.ts';
export { FullPrefixDecoder, type CausalDecoder } from './decoder.ts';
