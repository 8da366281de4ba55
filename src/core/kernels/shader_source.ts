// From a kernel's .wgsl file to the code a pipeline compiles, in text steps, each a pure function:
//
//   regions    `// #region NAME` … `// #endregion NAME` marks a part of a file that a variant replaces with other
//              text (f16 operand loads, a subgroup reduction, a matmul epilogue), so each algorithm is written
//              once and the file still compiles alone with its own region.
//   constants  `const NAME[: T] = value;` takes the value the caller asks for (tile sizes, flags), so TypeScript
//              owns every number it also needs for its dispatch arithmetic.
//
// WGSL wants `enable` directives before any declaration; one in a region's text (e.g. `enable subgroups;`) is
// moved to the top of the module.

export type ConstValue = number | boolean;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Replaces the lines between `// #region NAME` and `// #endregion NAME` (markers kept) with the given text. */
export function replaceRegions(source: string, regions: Record<string, string> = {}): string {
  let out = source;
  for (const [name, text] of Object.entries(regions)) {
    const n = escapeRegExp(name);
    const re = new RegExp(
      `(^[ \\t]*// #region ${n}(?![\\w-])[^\\n]*\\n)[\\s\\S]*?(^[ \\t]*// #endregion ${n}(?![\\w-]))`,
      'gm',
    );
    const found = out.match(re)?.length ?? 0;
    if (found !== 1) {
      throw new Error(
        found
          ? `shader has ${found} regions '${name}'`
          : `shader has no '// #region ${name}' … '// #endregion ${name}' to replace`,
      );
    }
    const body = text.endsWith('\n') ? text : `${text}\n`;
    // A function, so '$' in the WGSL is never read as a replacement pattern.
    out = out.replace(re, (_m, open: string, close: string) => `${open}${body}${close}`);
  }
  return out;
}

/** Rewrites `const NAME[: T] = value;` declarations to the given values. */
export function specialise(source: string, consts: Record<string, ConstValue> = {}): string {
  let out = source;
  for (const [name, value] of Object.entries(consts)) {
    const re = new RegExp(`(^|\\n)(\\s*)const\\s+${name}\\s*(:\\s*(\\w+))?\\s*=\\s*[^;]+;`);
    const m = re.exec(out);
    if (!m) throw new Error(`shader has no 'const ${name}' to specialise`);
    const type = m[4];
    let lit: string;
    if (typeof value === 'boolean') lit = String(value);
    else if (type === 'f32') lit = Number.isInteger(value) ? `${value}.0` : `${value}`;
    else if (type === 'i32') lit = `${Math.trunc(value)}i`;
    else if (type === 'u32' || type === undefined) {
      if (!Number.isInteger(value) || value < 0) throw new Error(`const ${name} must be a non-negative integer`);
      lit = `${value}u`;
    } else throw new Error(`const ${name} has type ${type}, which specialise() cannot set`);
    out = out.replace(re, `$1$2const ${name}${type ? `: ${type}` : ''} = ${lit};`);
  }
  return out;
}

/** Moves `enable …;` directives to the top of the module (once each), where WGSL requires them. */
function hoistDirectives(code: string): string {
  const directives = new Set<string>();
  const rest = code.replace(/^[ \t]*(enable[ \t]+[\w \t,]+;)[ \t]*\n/gm, (_m, d: string) => {
    directives.add(d.replace(/\s+/g, ' '));
    return '';
  });
  return directives.size ? `${[...directives].join('\n')}\n${rest}` : rest;
}

export interface ShaderText {
  source: string;
  regions?: Record<string, string>;
  consts?: Record<string, ConstValue>;
}

/** The code a pipeline compiles: regions replaced, constants set, directives first. */
export function buildShader({ source, regions = {}, consts }: ShaderText): string {
  return hoistDirectives(specialise(replaceRegions(source, regions), consts));
}
