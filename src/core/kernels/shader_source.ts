// From a kernel's .wgsl file to the code a pipeline compiles, in three text steps, each a pure function:
//
//   includes   `// #include NAME` lines take the text of shaders/common/NAME.wgsl (shader_library.ts), so WGSL
//              that several kernels share is written once. Included text may include more; a fragment appears at
//              most once in a module (twice is an error, as it would redefine its functions).
//   regions    `// #region NAME` … `// #endregion NAME` marks a part of a file that a variant replaces with other
//              text (f16 operand loads, a subgroup reduction, a matmul epilogue), so each algorithm is written
//              once and the file still compiles alone with its own region. Region markers may sit in included
//              text; replacement text may itself be `// #include NAME` lines.
//   constants  `const NAME[: T] = value;` takes the value the caller asks for (tile sizes, flags), so TypeScript
//              owns every number it also needs for its dispatch arithmetic.
//
// WGSL wants `enable` directives before any declaration; one in an included fragment (e.g. `enable subgroups;`)
// is moved to the top of the module.
import { SHADER_LIBRARY } from './shader_library.ts';

export type ConstValue = number | boolean;

/** The `// #include NAME` line for a fragment of shaders/common: a region replacement made of one fragment. */
export const include = (name: string): string => `// #include ${name}\n`;

const INCLUDE = /^[ \t]*\/\/ #include[ \t]+(\S+)[ \t]*$/gm;
const INCLUDED = /^\/\/ #included (\S+)$/gm;

/** Replaces every `// #include NAME` line (recursively) with `// #included NAME` and the fragment's text. */
export function expandIncludes(source: string, library: Record<string, string> = SHADER_LIBRARY): string {
  const expand = (text: string, stack: string[]): string =>
    text.replace(INCLUDE, (_line, name: string) => {
      const fragment = library[name];
      if (fragment === undefined) {
        throw new Error(`shader includes '${name}', which is not in shaders/common (known: ${Object.keys(library)})`);
      }
      if (stack.includes(name)) throw new Error(`shader fragments include each other: ${[...stack, name].join(' → ')}`);
      const body = expand(fragment, [...stack, name]);
      return `// #included ${name}\n${body.endsWith('\n') ? body.slice(0, -1) : body}`;
    });
  return expand(source, []);
}

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

/** The code a pipeline compiles: includes expanded, regions replaced, constants set, directives first. */
export function buildShader({ source, regions = {}, consts }: ShaderText): string {
  const expanded = Object.fromEntries(Object.entries(regions).map(([name, text]) => [name, expandIncludes(text)]));
  const code = replaceRegions(expandIncludes(source), expanded);
  const counts = new Map<string, number>();
  for (const m of code.matchAll(INCLUDED)) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  for (const [name, n] of counts) {
    if (n > 1) throw new Error(`shader includes '${name}' ${n} times; a fragment may appear once per module`);
  }
  return hoistDirectives(specialise(code, consts));
}
