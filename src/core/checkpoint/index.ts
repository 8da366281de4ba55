// Checkpoints: formats (safetensors, Hugging Face folder, zip), the browser store and Hub downloads.
// Node-only helpers (folders on disk, a cache folder) are in node_folder.ts, imported separately.
export * from './archive.ts';
export * from './config.ts';
export * from './errors.ts';
export * from './hf_folder.ts';
export * from './hub.ts';
export * from './rotation.ts';
export * from './safetensors.ts';
export * from './shards.ts';
export * from './store.ts';
export * from './tensors.ts';
export * from './training_state.ts';
export * from './weights.ts';
export * from './zip.ts';
