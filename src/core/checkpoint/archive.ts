// A checkpoint in and out of a .zip, or from loose files dropped on the page together.
import { CheckpointError } from './errors.ts';
import {
  checkpointFromFiles,
  checkpointToFiles,
  CONFIG_FILE,
  flattenFolder,
  GENERATION_CONFIG_FILE,
  TOKENIZER_FILES,
  type CheckpointFiles,
  type HearthCheckpoint,
  type ToFilesOptions,
} from './hf_folder.ts';
import { parseSafetensorsHeader, safetensorsHeaderLength } from './safetensors.ts';
import { SHARD_FILE_NAME, WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './shards.ts';
import { OPTIMIZER_FILE, STATE_FILE } from './training_state.ts';
import { unzip, zipFolder, type UnzipOptions } from './zip.ts';

const CHECKPOINT_FILE_NAMES: ReadonlySet<string> = new Set([
  CONFIG_FILE,
  WEIGHTS_FILE,
  WEIGHTS_INDEX_FILE,
  GENERATION_CONFIG_FILE,
  ...TOKENIZER_FILES,
  STATE_FILE,
  OPTIMIZER_FILE,
]);

/** The files a checkpoint is made of (weight shards included); anything else in a zip or a drop is left unread. */
export function isCheckpointFile(name: string): boolean {
  return CHECKPOINT_FILE_NAMES.has(name) || SHARD_FILE_NAME.test(name);
}

/** Whether the files hold weights in a form Hearth reads. */
function hasWeights(files: CheckpointFiles): boolean {
  return files.has(WEIGHTS_FILE) || files.has(WEIGHTS_INDEX_FILE);
}

function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).at(-1) ?? '';
}

/** A zip (as chunks) holding the Hugging Face folder plus the training state, inside `folder/`. */
export function checkpointToZip(ckpt: HearthCheckpoint, folder: string, options: ToFilesOptions = {}): Uint8Array[] {
  return zipFolder(checkpointToFiles(ckpt, options), safeFolderName(folder));
}

/** Unpacks (guarded against zip bombs) and reads a checkpoint zip. */
export function checkpointFromZip(
  bytes: Uint8Array,
  options: Pick<UnzipOptions, 'maxTotalBytes'> = {},
): HearthCheckpoint {
  return checkpointFromFiles(checkpointFilesFromZip(bytes, options));
}

export function checkpointFilesFromZip(
  bytes: Uint8Array,
  options: Pick<UnzipOptions, 'maxTotalBytes'> = {},
): CheckpointFiles {
  const { files, skipped } = unzip(bytes, {
    ...options,
    want: (p) => isCheckpointFile(baseName(p)),
    inspect: inspectSafetensorsHead,
  });
  const flat = flattenFolder(files);
  if (!hasWeights(flat) && skipped.some((p) => baseName(p) === 'pytorch_model.bin')) {
    throw new CheckpointError(
      'missing-file',
      'the zip has pytorch_model.bin but no model.safetensors: Hearth reads only safetensors (PyTorch pickles can run code); convert it with save_pretrained(safe_serialization=True)',
    );
  }
  return flat;
}

/** A safetensors file in a zip is judged by its header before its data is inflated. */
function inspectSafetensorsHead(path: string, size: number, head: (n: number) => Uint8Array): void {
  const name = baseName(path);
  if (!name.endsWith('.safetensors')) return;
  const headerLength = safetensorsHeaderLength(head(8), size, name);
  parseSafetensorsHeader(head(8 + headerLength), name, size);
}

/** Minimal view of a dropped File, so Node tests can pass plain objects. */
export interface DroppedFile {
  name: string;
  webkitRelativePath?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Loose files (or a dropped folder, or one .zip) dropped together: reads only the checkpoint's files. */
export async function checkpointFilesFromDrop(
  dropped: Iterable<DroppedFile>,
  options: Pick<UnzipOptions, 'maxTotalBytes'> = {},
): Promise<CheckpointFiles> {
  const list = [...dropped];
  if (list.length === 1 && list[0].name.toLowerCase().endsWith('.zip')) {
    return checkpointFilesFromZip(new Uint8Array(await list[0].arrayBuffer()), options);
  }
  const entries: [string, Uint8Array][] = [];
  for (const f of list) {
    const path = f.webkitRelativePath || f.name;
    if (!isCheckpointFile(baseName(path))) continue;
    entries.push([path, new Uint8Array(await f.arrayBuffer())]);
  }
  const files = flattenFolder(entries);
  if (!hasWeights(files) && list.some((f) => f.name === 'pytorch_model.bin')) {
    throw new CheckpointError(
      'missing-file',
      'pytorch_model.bin was dropped but no model.safetensors: Hearth reads only safetensors',
    );
  }
  return files;
}

/** A name usable as a folder in a zip and on every file system. */
export function safeFolderName(name: string): string {
  const cleaned = name.replace(/[^\w.-]+/g, '-').replace(/^[.-]+|-+$/g, '');
  return cleaned.slice(0, 100) || 'checkpoint';
}
