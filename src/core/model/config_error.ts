// Why a model cannot be built from a config: the config is malformed, or well-formed but names something Hearth
// does not run. The checkpoint layer turns it into its own error with the same code and message.

export type ModelConfigErrorCode = 'invalid-config' | 'unsupported-model';

export class ModelConfigError extends Error {
  constructor(
    readonly code: ModelConfigErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ModelConfigError';
  }

  static invalid(message: string): ModelConfigError {
    return new ModelConfigError('invalid-config', message);
  }

  static unsupported(message: string): ModelConfigError {
    return new ModelConfigError('unsupported-model', message);
  }
}

const invalid = (m: string) => ModelConfigError.invalid(`config: ${m}`);

/** The config's checks every family shares: each names the key and the value it got. */
export function checkPositiveInteger(key: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1)
    throw invalid(`${key} must be a positive integer, got ${JSON.stringify(value)}`);
}

export function checkPositiveNumber(key: string, value: unknown): void {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw invalid(`${key} must be a positive number, got ${JSON.stringify(value)}`);
}

/** Absent, or true or false. */
export function checkBoolean(key: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean')
    throw invalid(`${key} must be true or false, got ${JSON.stringify(value)}`);
}
