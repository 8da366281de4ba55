// The tensor types a GGUF export offers, by llama.cpp's names (its converter's --outtype f32, f16, q8_0); apart from
// the writer so that a page can offer the choice without loading it.
export const GGUF_DTYPES = ['F32', 'F16', 'Q8_0'] as const;
export type GgufDtype = (typeof GGUF_DTYPES)[number];
