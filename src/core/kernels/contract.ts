// A kernel's contract: the storage buffers and the uniform struct an entry point binds, declared once in TypeScript
// (the kernel's definition) and checked against the WGSL itself when its pipeline is built. The buffers must be
// the entry point's storage bindings at @group(0) @binding(0..n-1), in that order, each with the declared access;
// the uniforms must be the fields of its uniform struct, by name, order and scalar type, at @binding(n). So a
// shader and its caller cannot drift apart silently: a mismatch is an error naming the shader and the field.
//
// The WGSL is read by a small scanner, not a parser: it knows module-scope structs, bindings and functions, and
// which bindings an entry point uses (those its body or the functions it calls name, as WebGPU's `layout: 'auto'`
// counts them), which is all a contract needs.

type Access = 'read' | 'read_write';
type ScalarType = 'u32' | 'i32' | 'f32';

export interface KernelContract<B extends string = string, U extends string = string> {
  /** the entry point's storage buffers, in binding order: name → access, as the shader declares them */
  buffers: { readonly [K in B]: Access };
  /** its uniform struct's fields, in order, with their scalar types; the struct takes the binding after the buffers */
  uniforms?: { readonly [K in U]: ScalarType };
}

interface Binding {
  name: string;
  group: number;
  binding: number;
  space: 'storage' | 'uniform';
  access: Access;
  type: string;
}

/** The source without comments, with line breaks kept (so positions still mean something to a reader). */
function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
}

function structFields(code: string, name: string): { name: string; type: string }[] | null {
  const m = new RegExp(`\\bstruct\\s+${name}\\s*\\{([^}]*)\\}`).exec(code);
  if (!m) return null;
  return m[1]
    .split(',')
    .map((f) => f.replace(/@\w+(\([^)]*\))?/g, '').trim())
    .filter(Boolean)
    .map((f) => {
      const [field, type] = f.split(':').map((s) => s.trim());
      return { name: field, type };
    });
}

function bindings(code: string): Binding[] {
  const re =
    /@group\((\d+)\)\s*@binding\((\d+)\)\s*var\s*<\s*(storage|uniform)\s*(?:,\s*(read|read_write)\s*)?>\s*(\w+)\s*:\s*([^;]+);/g;
  return [...code.matchAll(re)].map((m) => ({
    group: Number(m[1]),
    binding: Number(m[2]),
    space: m[3] as 'storage' | 'uniform',
    access: (m[4] ?? 'read') as Access,
    name: m[5],
    type: m[6].trim(),
  }));
}

/** Each function's text (parameters and body), by name. */
function functions(code: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of code.matchAll(/\bfn\s+(\w+)\s*\(/g)) {
    const open = code.indexOf('{', m.index);
    let depth = 0;
    let end = open;
    for (; end < code.length; end++) {
      if (code[end] === '{') depth++;
      else if (code[end] === '}' && --depth === 0) break;
    }
    out.set(m[1], code.slice(m.index, end + 1));
  }
  return out;
}

/** Names a function's text refers to, less member accesses (`p.M`) and the names it declares itself. */
function referencedNames(text: string): Set<string> {
  const locals = new Set<string>();
  for (const m of text.matchAll(/\b(?:let|var|const)\s+(\w+)/g)) locals.add(m[1]);
  const params = /\(([\s\S]*?)\)\s*(->[^{]*)?\{/.exec(text)?.[1] ?? '';
  for (const m of params.replace(/@\w+\([^)]*\)/g, '').matchAll(/(\w+)\s*:/g)) locals.add(m[1]);
  const names = new Set<string>();
  for (const m of text.matchAll(/(?<![.\w])[A-Za-z_]\w*/g)) if (!locals.has(m[0])) names.add(m[0]);
  return names;
}

/** The bindings an entry point uses: named by it or by any function it calls, directly or not. */
function usedBindings(code: string, entryPoint: string): Binding[] | null {
  const fns = functions(code);
  if (!fns.has(entryPoint)) return null;
  const all = bindings(code);
  const byName = new Map(all.map((b) => [b.name, b]));
  const seen = new Set<string>([entryPoint]);
  const queue = [entryPoint];
  const used = new Set<Binding>();
  while (queue.length) {
    for (const name of referencedNames(fns.get(queue.pop()!)!)) {
      const b = byName.get(name);
      if (b) used.add(b);
      else if (fns.has(name) && !seen.has(name)) {
        seen.add(name);
        queue.push(name);
      }
    }
  }
  return [...used].sort((a, b) => a.binding - b.binding);
}

/**
 * Throws when the WGSL `code` (as compiled: includes, regions and constants resolved) does not bind what `contract`
 * declares at `entryPoint`. `shader` names the kernel in the message.
 */
export function checkContract(shader: string, code: string, entryPoint: string, contract: KernelContract): void {
  const where = `shader '${shader}' (entry point ${entryPoint})`;
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  const clean = stripComments(code);
  const used = usedBindings(clean, entryPoint) ?? fail(`no function '${entryPoint}' in the WGSL`);
  const other = used.find((b) => b.group !== 0);
  if (other) fail(`binding '${other.name}' is in @group(${other.group}); kernels bind @group(0) only`);

  const storage = used.filter((b) => b.space === 'storage');
  const declared = Object.entries(contract.buffers) as [string, Access][];
  const show = (names: string[]) => `(${names.join(', ')})`;
  storage.forEach((b, i) => {
    if (b.binding !== i) fail(`storage binding '${b.name}' is @binding(${b.binding}); expected @binding(${i})`);
  });
  for (let i = 0; i < Math.max(storage.length, declared.length); i++) {
    const [name, access] = declared[i] ?? [];
    const b = storage[i];
    if (!b || !name || b.name !== name) {
      fail(
        `buffer ${i} is ${b ? `'${b.name}'` : 'missing'} in the WGSL but ${name ? `'${name}'` : 'missing'} in ` +
          `TypeScript: the WGSL binds ${show(storage.map((s) => s.name))}, TypeScript ${show(declared.map(([n]) => n))}`,
      );
    }
    if (b.access !== access) fail(`buffer '${name}' is ${b.access} in the WGSL but declared ${access} in TypeScript`);
  }

  const uniforms = used.filter((b) => b.space === 'uniform');
  if (uniforms.length > 1) fail(`uses ${uniforms.length} uniform bindings; a kernel has at most one`);
  const u = uniforms[0];
  const fields = Object.entries(contract.uniforms ?? {}) as [string, ScalarType][];
  if (!u) {
    if (fields.length) fail(`uses no uniform struct, but TypeScript declares uniforms ${show(fields.map(([n]) => n))}`);
    return;
  }
  if (!contract.uniforms) fail(`uses uniform '${u.name}: ${u.type}', which TypeScript does not declare`);
  if (u.binding !== storage.length) {
    fail(`uniform '${u.name}' is @binding(${u.binding}); it must follow the ${storage.length} buffers`);
  }
  const struct = structFields(clean, u.type) ?? fail(`uniform '${u.name}' has type ${u.type}, which is not a struct`);
  for (let i = 0; i < Math.max(struct.length, fields.length); i++) {
    const s = struct[i];
    const [name, type] = fields[i] ?? [];
    if (!s || !name || s.name !== name || s.type !== type) {
      fail(
        `uniform field ${i} of struct ${u.type} is ${s ? `'${s.name}: ${s.type}'` : 'missing'} in the WGSL but ` +
          `${name ? `'${name}: ${type}'` : 'missing'} in TypeScript`,
      );
    }
  }
}
