// One error type for everything a checkpoint can go wrong with, so the page and the CLI can show
// `message` as it is and branch on `code` (e.g. offer "delete old checkpoints" on 'quota').

export type CheckpointErrorCode =
  | 'invalid-file' // a file is malformed, truncated or inconsistent
  | 'unsupported-model' // a well-formed model that Hearth cannot run
  | 'missing-file' // a required file is not in the folder, zip or repo
  | 'zip-bomb' // an archive would inflate past the allowed size
  | 'quota' // not enough storage for a save
  | 'storage' // the browser store failed a read or write
  | 'not-found' // checkpoint id or Hub repo/file does not exist
  | 'unauthorized' // Hub repo is private or gated
  | 'network' // the Hub could not be reached or answered with an error
  | 'cancelled'; // the caller aborted

export class CheckpointError extends Error {
  readonly code: CheckpointErrorCode;
  constructor(code: CheckpointErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CheckpointError';
    this.code = code;
  }
}

export function invalid(message: string): CheckpointError {
  return new CheckpointError('invalid-file', message);
}
