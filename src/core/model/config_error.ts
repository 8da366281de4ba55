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
