// Every file format read from a file made in the test (documents: text, Markdown, HTML, PDF, Word; records: JSON
// Lines, JSON, CSV, TSV, Parquet), streamed in chunks of any size where the format streams; and bad input: each
// problem a message naming the file (and the line or row), while the other files still load.
import { describe, expect, it } from 'vitest';
import {
  DataFileError,
  DatasetError,
  documentTextChunks,
  fileFormatOf,
  loadSftDataset,
  loadTextDataset,
  readRecords,
  RecordProblems,
  sourceFromBytes,
  sourceFromText,
  type DataRecord,
  type FileMessage,
  type StoredBlocks,
  type TextSource,
} from '../../src/core/data/index.ts';
import { charTokenizerFrom, loadGpt2Tokenizer } from '../../src/core/tokenizer/index.ts';
import { makeDocx, makeEncryptedPdf, makeImageOnlyPdf, makeParquet, makePdf } from './file_fixtures.ts';
import { qwen3 } from './sft_fixtures.ts';

const utf8 = (s: string) => new TextEncoder().encode(s);

async function textOf(source: TextSource): Promise<string> {
  let t = '';
  for await (const c of documentTextChunks(source)) t += c;
  return t;
}

async function recordsOf(source: TextSource, onColumns?: (c: string[]) => string[] | void) {
  const problems = new RecordProblems();
  const messages: FileMessage[] = [];
  const records: DataRecord[] = [];
  for await (const r of readRecords(source, { problems, onColumns, onMessage: (m) => messages.push(m) }))
    records.push(r);
  return { records, problems: problems.messages(source.name, 'skipped'), messages };
}

describe('file formats', () => {
  it('knows a file by its extension; anything else is plain text', () => {
    const names = ['a.TXT', 'notes.md', 'x.HTM', 'p.pdf', 'w.docx', 'd.jsonl', 'd.ndjson', 'd.json', 'd.csv', 'd.tsv'];
    expect([...names, 'd.parquet', 'README'].map(fileFormatOf)).toEqual([
      'text', 'text', 'html', 'pdf', 'docx', 'jsonl', 'jsonl', 'json', 'csv', 'tsv', 'parquet', 'text',
    ]); // prettier-ignore
  });

  it('HTML: the text a reader sees, whatever the chunks', async () => {
    const html =
      '<!doctype html><html><head><title>Tab title</title><style>p { color: red }</style>' +
      '<script>document.write("not text")</script></head><body>\n' +
      '<h1>Fish &amp; chips</h1><p>First   paragraph\n  with <b>bold</b> text.</p>' +
      '<p>Second<br>line &lt;3</p><pre>  code\n    indented</pre>' +
      '<table><tr><td>a</td><td>b</td></tr><tr><td>c</td><td>d</td></tr></table>' +
      '<noscript>enable scripts</noscript><template><p>hidden</p></template><ul><li>one</li><li>two</li></ul></body></html>';
    const want =
      'Fish & chips\n\nFirst paragraph with bold text.\n\nSecond\nline <3\n\n  code\n    indented\n\na\tb\nc\td\n\none\ntwo';
    for (const chunk of [1, 5, 1 << 16])
      expect(await textOf(sourceFromBytes('page.html', utf8(html), chunk))).toBe(want);
  });

  it('PDF (pages and lines), Word (paragraphs), Markdown (as it is)', async () => {
    const pdf = await makePdf([['Hello PDF world', 'second line here'], ['Page two.']]);
    expect(await textOf(sourceFromBytes('paper.pdf', pdf))).toBe('Hello PDF world\nsecond line here\n\nPage two.');
    const docx = makeDocx(['Hello Word', 'Second **bold** paragraph & more']);
    expect(await textOf(sourceFromBytes('letter.docx', docx))).toBe('Hello Word\n\nSecond bold paragraph & more');
    expect(await textOf(sourceFromText('notes.md', '# Title\n\n- item *one*\n'))).toBe('# Title\n\n- item *one*\n');
  });

  it('PDF and Word that cannot be read: each a message that says why', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['locked.pdf', await makeEncryptedPdf(), /is encrypted \(it asks for a password\)/],
      ['scan.pdf', await makeImageOnlyPdf(), /has no text layer .* scanned or image-only PDF/],
      ['broken.pdf', utf8('%PDF-1.7 this is not a PDF'), /is not a PDF that can be read/],
      ['broken.docx', utf8('not a zip'), /is not a Word document that can be read/],
      ['empty.html', utf8('<html><script>x()</script></html>'), /has no text outside its markup/],
    ];
    for (const [name, bytes, message] of cases) {
      const e = await textOf(sourceFromBytes(name, bytes)).catch((x: unknown) => x);
      expect(e, name).toBeInstanceOf(DataFileError);
      expect((e as DataFileError).message, name).toMatch(
        new RegExp(`^${name.replace('.', '\\.')}: .*${message.source}`),
      );
    }
  });

  it('JSON Lines: streamed, a line that is not JSON named by its number', async () => {
    const text = '{"text": "a"}\r\n\n{"text": "b"}\n{"text": \n[1, 2]\n{"text": "c\\nd"}';
    for (const chunk of [1, 3, 1 << 16]) {
      const { records, problems } = await recordsOf(sourceFromBytes('d.jsonl', utf8(text), chunk));
      expect(records.map((r) => [r.at, r.fields.text])).toEqual([
        [1, 'a'],
        [3, 'b'],
        [6, 'c\nd'],
      ]);
      expect(problems.map((m) => m.message)).toEqual([
        expect.stringMatching(/^skipped line 4: not JSON \(.+\)$/),
        'skipped line 5: not a JSON object ({...})',
      ]);
    }
  });

  it('JSON: a list of records, columns, one list inside an object, or JSON Lines under .json', async () => {
    const cases: [string, unknown[]][] = [
      ['[{"text": "a"}, {"text": "b"}]', ['a', 'b']],
      ['{"text": ["a", "b", "c"]}', ['a', 'b', 'c']],
      ['{"version": 2, "data": [{"text": "x"}]}', ['x']],
      ['{"text": "l1"}\n{"text": "l2"}\n', ['l1', 'l2']],
    ];
    for (const [json, texts] of cases) {
      const { records } = await recordsOf(sourceFromText('d.json', json));
      expect(records.map((r) => r.fields.text)).toEqual(texts);
    }
    const { messages } = await recordsOf(sourceFromText('d.json', '{"version": 2, "data": [{"text": "x"}]}'));
    expect(messages[0].message).toBe("is one JSON object; its records were read from its list 'data'");
    await expect(recordsOf(sourceFromText('bad.json', '[{"text": "a"},'))).rejects.toThrow(
      /^bad\.json: is not valid JSON/,
    );
    await expect(recordsOf(sourceFromText('one.json', '"text"'))).rejects.toThrow(/single JSON value/);
  });

  it('CSV and TSV: a header row, quoted fields across lines and chunks, CRLF', async () => {
    const csv = 'prompt,completion\r\n"Say ""hi""","hi\r\nthere"\r\n2+2,4\r\n\r\nonly one field\r\nx,y\r\n';
    for (const chunk of [1, 2, 7, 1 << 16]) {
      const { records, problems } = await recordsOf(sourceFromBytes('d.csv', utf8(csv), chunk));
      expect(records.map((r) => [r.at, r.fields])).toEqual([
        [1, { prompt: 'Say "hi"', completion: 'hi\r\nthere' }],
        [2, { prompt: '2+2', completion: '4' }],
        [4, { prompt: 'x', completion: 'y' }],
      ]);
      expect(problems.map((m) => m.message)).toEqual([
        "skipped row 3: has a different number of fields from the header's 2 (1)",
      ]);
    }
    const { records } = await recordsOf(sourceFromText('d.tsv', 'text\tlabel\nhello, world\t1\n'));
    expect(records[0].fields).toEqual({ text: 'hello, world', label: '1' });
  });

  it('Parquet: row group by row group, nested chat columns, gzip (hyparquet-compressors)', async () => {
    const rows = Array.from({ length: 7 }, (_, i) => ({
      text: `row ${i}`,
      messages: [
        { role: 'user', content: `q${i}` },
        { role: 'assistant', content: `a${i}` },
      ],
    }));
    const bytes = makeParquet(rows, 3);
    const seen: string[][] = [];
    const { records } = await recordsOf(sourceFromBytes('d.parquet', bytes), (columns) => {
      seen.push(columns);
      return ['messages'];
    });
    expect(seen).toEqual([['text', 'messages']]);
    expect(records.map((r) => r.fields)).toEqual(rows.map((r) => ({ messages: r.messages })));
    expect(records.map((r) => r.at)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await expect(recordsOf(sourceFromBytes('cut.parquet', bytes.slice(0, bytes.length - 9)))).rejects.toThrow(
      /^cut\.parquet: is not a Parquet file that can be read/,
    );
    await expect(recordsOf(sourceFromText('fake.parquet', 'PAR1 not really'))).rejects.toThrow(/not a Parquet file/);
  });
});

describe('bad input: a message per file, the rest still loads', () => {
  it('fine-tuning records: bad lines, missing fields and columns, chats without an assistant turn, corrupt Parquet', async () => {
    const q = qwen3();
    const chat = (i: number) => ({
      messages: [
        { role: 'user', content: `question ${i}` },
        { role: 'assistant', content: `answer ${i}` },
      ],
    });
    const jsonl = (lines: unknown[]) => lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
    const goodParquet = makeParquet(
      [0, 1, 2].map((i) => ({ text: '', messages: chat(i).messages })),
      2,
    );
    const sources = [
      sourceFromText('good.jsonl', jsonl([chat(1), chat(2)])),
      sourceFromText('lines.jsonl', jsonl([chat(3), '{"messages": [', chat(4), 'not json either'])),
      sourceFromText('fields.jsonl', jsonl([{ question: 'q', answer: 'a' }, chat(5)])),
      sourceFromText('lonely.jsonl', jsonl([{ messages: [{ role: 'user', content: 'anyone?' }] }, chat(6)])),
      sourceFromText('columns.csv', 'question,answer\nq,a\n'),
      sourceFromBytes('corrupt.parquet', goodParquet.slice(0, goodParquet.length - 20)),
      sourceFromBytes('good.parquet', goodParquet),
    ];
    const loaded = await loadSftDataset(sources, {
      tokenizer: q.tokenizer,
      chat: q.chat,
      config: { assistant_only_loss: true, max_length: 64 },
      evalFraction: 0,
    });
    const said = (file: string) => loaded.messages.filter((m) => m.file === file).map((m) => m.message);
    expect(said('good.jsonl')).toEqual([]);
    expect(said('lines.jsonl')).toEqual([expect.stringMatching(/^skipped 2 lines \(2, 4\): not JSON \(line 2: .+\)$/)]);
    expect(said('fields.jsonl')).toEqual([
      "skipped line 1: has no 'text' field (nor prompt/completion or messages) (its fields: question, answer)",
    ]);
    expect(said('lonely.jsonl')).toEqual(['skipped line 1: has no assistant turn (roles: user)']);
    expect(said('columns.csv')).toEqual([
      "has no column 'text' (nor prompt and completion, or messages); its columns: question, answer",
    ]);
    expect(said('corrupt.parquet')).toEqual([expect.stringMatching(/^is not a Parquet file that can be read/)]);
    expect(loaded.files.map((f) => [f.name, f.records, f.examples])).toEqual([
      ['good.jsonl', 2, 2],
      ['lines.jsonl', 2, 2],
      ['fields.jsonl', 2, 1],
      ['lonely.jsonl', 2, 1],
      ['good.parquet', 3, 3],
    ]);
    // One row per example, each counting only its assistant turn.
    const train = loaded.train as StoredBlocks;
    expect(train.numBlocks).toBe(9);
    const blocks = await train.readBlocks([0, 8]);
    expect(blocks.map((b) => q.tokenizer.decode(Array.from(b.ids).filter((_, t) => b.lossMask![t])))).toEqual([
      '<think>\n\n</think>\n\nanswer 1<|im_end|>\n',
      '<think>\n\n</think>\n\nanswer 2<|im_end|>\n',
    ]);
  });

  it('the same file read again comes from the cache, with its messages', async () => {
    const gpt2 = await loadGpt2Tokenizer();
    const { memoryTokenCache } = await import('../../src/core/data/index.ts');
    const cache = memoryTokenCache();
    const files = () => [sourceFromText('d.jsonl', '{"text": "hello"}\nnope\n{"text": "world"}')];
    const options = { tokenizer: gpt2, cache, evalFraction: 0 };
    const first = await loadSftDataset(files(), options);
    const second = await loadSftDataset(files(), options);
    expect([first.files[0].cached, second.files[0].cached]).toEqual([false, true]);
    expect(second.messages).toEqual(first.messages);
    expect(second.files[0]).toMatchObject({ records: 2, examples: 2, tokens: first.files[0].tokens });
    // Other options make other examples: not the cached ones.
    const other = await loadSftDataset(files(), { ...options, config: { dataset_text_field: 'body' } }).catch((e) => e);
    expect(other).toBeInstanceOf(DatasetError);
    expect(other.message).toBe('Nothing to train on: no file gave examples.\nd.jsonl: gave no examples');
    expect((other as DatasetError).messages.at(-1)).toMatchObject({ file: 'd.jsonl', message: 'gave no examples' });
  });

  it('record files in plain language modelling are their text as it is, as before', async () => {
    const text = '{"text": "hi"}\n{"text": "yo"}\n';
    const chars = charTokenizerFrom([...new Set(text + 'a,b\n1,2')].join(''));
    const sources = [sourceFromText('d.jsonl', text), sourceFromText('t.csv', 'a,b\n1,2')];
    const data = await loadTextDataset(sources, { tokenizer: chars, blockSize: 4, evalFraction: 0 });
    expect(data.messages).toEqual([]);
    expect(data.files.map((f) => f.tokens)).toEqual([text.length, 7]);
  });

  it('documents for plain language modelling: a locked and a scanned PDF are named, the rest trains', async () => {
    const chars = charTokenizerFrom('abcdefghijklmnopqrstuvwxyzHPW .\n');
    const sources = [
      sourceFromBytes('paper.pdf', await makePdf([['Hello PDF world'], ['page two.']])),
      sourceFromBytes('locked.pdf', await makeEncryptedPdf()),
      sourceFromBytes('scan.pdf', await makeImageOnlyPdf()),
      sourceFromBytes('letter.docx', makeDocx(['Hello Word'])),
      sourceFromText('page.html', '<p>hello <i>html</i></p>'),
    ];
    const data = await loadTextDataset(sources, { tokenizer: chars, blockSize: 4, evalFraction: 0 });
    expect(data.messages.filter((m) => m.level === 'error').map((m) => m.file)).toEqual(['locked.pdf', 'scan.pdf']);
    expect(data.files.map((f) => f.name)).toEqual(['paper.pdf', 'letter.docx', 'page.html']);
    const joined = 'Hello PDF world\n\npage two.<|endoftext|>Hello Word<|endoftext|>hello html';
    const tokens = chars.encode(joined);
    expect(data.train.numBlocks).toBe(Math.floor(tokens.length / 4));
    const blocks = await (data.train as StoredBlocks).readBlocks([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(chars.decode(blocks.flatMap((b) => Array.from(b.ids)))).toBe(chars.decode(tokens.slice(0, 36)));
  });
});
