// Post-processors of a tokenizer.json for one sequence: TemplateProcessing (Llama's BOS), ByteLevel (nothing to do
// to ids) and Sequence. Each becomes the ids to put before and after the encoded text.
import { readStages, type FileField } from './errors.ts';

export interface Template {
  before: number[];
  after: number[];
}

type Json = Record<string, unknown>;

/** Ids a template names by token: the special_tokens entry's ids, else the token's own id. */
function templateIds(name: string, special: Json, idOf: (t: string) => number | undefined, field: FileField): number[] {
  const entry = special[name] as { ids?: unknown } | undefined;
  if (entry && Array.isArray(entry.ids) && entry.ids.every((x) => Number.isInteger(x))) return entry.ids as number[];
  const id = idOf(name);
  if (id === undefined) throw field.error(`names the token ${JSON.stringify(name)}, which is in no vocabulary`);
  return [id];
}

export function templateFromJson(
  json: unknown,
  idOf: (t: string) => number | undefined,
  field: FileField,
): Template | null {
  if (json === null || json === undefined) return null;
  const p = json as Json;
  switch (p.type) {
    case 'ByteLevel':
      return null;
    case 'TemplateProcessing': {
      const single = p.single;
      if (!Array.isArray(single)) throw field.at('single').error('must be a list');
      const special = (p.special_tokens ?? {}) as Json;
      const t: Template = { before: [], after: [] };
      let seenSequence = false;
      single.forEach((item: Json, k) => {
        const f = field.at('single').at(k);
        if (item && 'Sequence' in item) {
          if (seenSequence) throw f.error('a single-sequence template holds one Sequence');
          seenSequence = true;
        } else if (item && 'SpecialToken' in item) {
          const name = (item.SpecialToken as { id?: unknown })?.id;
          if (typeof name !== 'string') throw f.error('a SpecialToken needs an id');
          (seenSequence ? t.after : t.before).push(...templateIds(name, special, idOf, f));
        } else throw f.error('must be a Sequence or a SpecialToken');
      });
      return t;
    }
    case 'Sequence': {
      const parts = readStages(p.processors, field.at('processors'), (x, at) => templateFromJson(x, idOf, at));
      // Each processor wraps what the previous one made.
      return parts.reduce<Template>(
        (acc, t) => ({ before: [...t.before, ...acc.before], after: [...acc.after, ...t.after] }),
        {
          before: [],
          after: [],
        },
      );
    }
    default:
      throw field
        .at('type')
        .error(
          `the post-processor ${JSON.stringify(p.type)} is not supported (Hearth reads TemplateProcessing, ByteLevel and Sequence)`,
        );
  }
}
