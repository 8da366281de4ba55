// The shaders as files: every kernel in shaders/ compiles on its own (its includes resolved, its regions as written),
// every file in shaders/common is a fragment that the library lists, and `// #include` does what it says.
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { useGpu } from '../helpers.ts';
import { buildShader, expandIncludes, include } from '../../src/core/kernels/shader_source.ts';
import { SHADER_LIBRARY } from '../../src/core/kernels/shader_library.ts';
import { pipelineKey } from '../../src/core/kernels/runtime.ts';

const dir = new URL('../../shaders/', import.meta.url);
const wgslFiles = (sub = '') => readdirSync(new URL(sub, dir)).filter((f) => f.endsWith('.wgsl'));
const read = (path: string) => readFileSync(new URL(path, dir), 'utf8');

describe('shaders', () => {
  const gpu = useGpu();

  for (const file of wgslFiles()) {
    it(`${file} compiles alone`, async () => {
      const module = gpu().device.createShaderModule({ label: file, code: buildShader({ source: read(file) }) });
      const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      expect(errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`)).toEqual([]);
    });
  }

  it('every file in shaders/common is a fragment the library lists under its name, and nothing else is', () => {
    const files = wgslFiles('common/');
    expect(Object.keys(SHADER_LIBRARY).sort()).toEqual(files.map((f) => f.replace(/\.wgsl$/, '')).sort());
    for (const f of files) {
      expect(SHADER_LIBRARY[f.replace(/\.wgsl$/, '')]).toBe(read(`common/${f}`));
      expect(read(`common/${f}`), f).toMatch(/^\/\/ (Include fragment|Region replacement)/);
    }
  });

  const library = {
    outer: '// outer\n// #include inner\nfn outer() {}\n',
    inner: 'enable subgroups;\nfn inner() {}\n',
    loop: '// #include loop\n',
  };

  it('expands includes recursively and moves their enable directives to the top', () => {
    const out = expandIncludes('const A = 1;\n// #include outer\nfn main() {}\n', library);
    expect(out).toBe(
      'const A = 1;\n// #included outer\n// outer\n// #included inner\nenable subgroups;\nfn inner() {}\n' +
        'fn outer() {}\nfn main() {}\n',
    );
    const code = buildShader({ source: 'const A = 1;\n// #include row_sum_subgroup\n' });
    expect(code.startsWith('enable subgroups;\n')).toBe(true);
    expect(code.match(/enable subgroups;/g)).toHaveLength(1);
  });

  it('refuses an unknown fragment, a cycle, and a fragment included twice', () => {
    expect(() => expandIncludes('// #include nope\n', library)).toThrow(
      /includes 'nope', which is not in shaders\/common/,
    );
    expect(() => expandIncludes('// #include loop\n', library)).toThrow(/include each other: loop → loop/);
    expect(() => buildShader({ source: '// #include gelu_new\n// #include gelu_new\n' })).toThrow(
      /includes 'gelu_new' 2 times/,
    );
    // A region's replacement may include what the text it replaces included.
    const source = '// #region r\n// #include gelu_new\n// #endregion r\n';
    expect(buildShader({ source, regions: { r: include('gelu_new') } }).match(/fn gelu\(/g)).toHaveLength(1);
  });

  it('keys pipelines by the included text, not by how it was spelled', () => {
    const spec = { name: 'k', buffers: {}, source: include('gelu_new') };
    expect(pipelineKey(spec)).toBe(pipelineKey({ ...spec, source: expandIncludes(spec.source) }));
    expect(pipelineKey(spec)).not.toBe(pipelineKey({ ...spec, source: include('dropout_hash') }));
    const regions = { r: include('row_sum_subgroup') };
    expect(pipelineKey({ ...spec, regions })).toBe(pipelineKey({ ...spec, regions: { r: expandIncludes(regions.r) } }));
  });
});
