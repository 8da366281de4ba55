// Errors about a tokenizer's files: each names the file, the field inside it and the problem, so that a person
// can find what is wrong ("tokenizer.json: model.merges[12]: ...").

export class TokenizerFileError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(field ? `${file}: ${field}: ${problem}` : `${file}: ${problem}`);
    this.name = 'TokenizerFileError';
  }
}

/** Where in which file a part of a tokenizer was read from; `at` names a field below it. */
export class FileField {
  constructor(
    readonly file: string,
    readonly path: string,
  ) {}
  at(key: string | number): FileField {
    const part = typeof key === 'number' ? `[${key}]` : this.path ? `.${key}` : key;
    return new FileField(this.file, this.path + part);
  }
  error(problem: string): TokenizerFileError {
    return new TokenizerFileError(this.file, this.path, problem);
  }
}

/** The JSON object a file holds, or a TokenizerFileError saying why not. */
export function parseJsonObject(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new TokenizerFileError(file, '', `not valid JSON (${(e as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new TokenizerFileError(file, '', 'does not hold a JSON object');
  return value as Record<string, unknown>;
}

/** The stages a Sequence lists under `field`, each read by `read`; stages that read as null are left out. */
export function readStages<T>(list: unknown, field: FileField, read: (item: unknown, at: FileField) => T | null): T[] {
  if (!Array.isArray(list)) throw field.error('must be a list');
  return list.map((item, k) => read(item, field.at(k))).filter((x): x is T => x !== null);
}

/**
 * Ids a BPE tokenizer.json may use, which may leave gaps: sixteen times the largest vocabulary shipped today, low
 * enough that a table indexed by id stays small.
 */
export const MAX_TOKEN_IDS = 1 << 22;

/**
 * Refuses any id that is not a whole number below `limit`: for a file that cannot leave gaps, the number of tokens it
 * lists (one id of 4,294,967,294 would make a table of four billion slots).
 */
export function checkIdsFit(ids: Iterable<readonly [string, unknown]>, limit: number, field: FileField): void {
  for (const [token, id] of ids) {
    if (!Number.isInteger(id) || (id as number) < 0)
      throw field.error(`the id of ${JSON.stringify(token)} is ${JSON.stringify(id)}, not an id`);
    if ((id as number) >= limit)
      throw field.error(
        limit === MAX_TOKEN_IDS
          ? `the id of ${JSON.stringify(token)} is ${id}, beyond the ${limit} ids Hearth reads`
          : `the id of ${JSON.stringify(token)} is ${id}, beyond the ${limit} tokens the file lists (ids 0 to ${limit - 1})`,
      );
  }
}
