// Files of each format for the data tests, made here: PDFs with pdf-lib (text, encrypted, image-only), a Word
// document zipped by hand (the three parts a .docx needs), Parquet with hyparquet-writer (as the Hub stores chats:
// a list of {role, content} structs, gzip-compressed so that reading needs hyparquet-compressors).
import { gzipSync, strToU8, zipSync } from 'fflate';
import { parquetWriteBuffer } from 'hyparquet-writer';
import {
  concatTransformationMatrix,
  drawObject,
  PDFDocument,
  PDFHexString,
  popGraphicsState,
  pushGraphicsState,
  StandardFonts,
} from 'pdf-lib';

/** A PDF with these pages of lines. */
export async function makePdf(pages: string[][]): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([400, 300]);
    lines.forEach((line, i) => page.drawText(line, { x: 30, y: 260 - 20 * i, font, size: 12 }));
  }
  return doc.save({ useObjectStreams: false });
}

/**
 * A PDF that asks for a password: the standard security handler (AES-256, revision 6) with keys that no password
 * opens, so a reader must stop at the password check, as it does for any protected file it has no password for.
 */
export async function makeEncryptedPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.addPage([200, 200]).drawText('secret', { x: 20, y: 100 });
  const hex = (n: number, seed: number) =>
    PDFHexString.of(
      Array.from({ length: n }, (_, i) => ((i * 37 + seed) & 255).toString(16).padStart(2, '0')).join(''),
    );
  const encrypt = doc.context.obj({
    Filter: 'Standard',
    V: 5,
    R: 6,
    Length: 256,
    P: -4,
    O: hex(48, 1),
    U: hex(48, 2),
    OE: hex(32, 3),
    UE: hex(32, 4),
    Perms: hex(16, 5),
    CF: { StdCF: { CFM: 'AESV3', AuthEvent: 'DocOpen', Length: 32 } },
    StmF: 'StdCF',
    StrF: 'StdCF',
  });
  doc.context.trailerInfo.Encrypt = doc.context.register(encrypt);
  doc.context.trailerInfo.ID = doc.context.obj([hex(16, 6), hex(16, 7)]);
  return doc.save({ useObjectStreams: false });
}

/** A PDF whose only page is a grey image, as a scanner makes them: no text layer. */
export async function makeImageOnlyPdf(): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([300, 300]);
  const side = 32;
  const pixels = Uint8Array.from({ length: side * side }, (_, i) => (i * 7) & 255);
  const image = doc.context.flateStream(pixels, {
    Type: 'XObject',
    Subtype: 'Image',
    Width: side,
    Height: side,
    ColorSpace: 'DeviceGray',
    BitsPerComponent: 8,
  });
  const name = page.node.newXObject('Scan', doc.context.register(image));
  page.pushOperators(
    pushGraphicsState(),
    concatTransformationMatrix(200, 0, 0, 200, 50, 50),
    drawObject(name),
    popGraphicsState(),
  );
  return doc.save({ useObjectStreams: false });
}

const xml = (body: string) => strToU8(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>${body}`);
const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A Word document with these paragraphs (runs of text; ** marks a bold run). */
export function makeDocx(paragraphs: string[]): Uint8Array {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const body = paragraphs
    .map((p) => {
      const runs = p.split('**').map((text, i) => {
        const bold = i % 2 === 1 ? '<w:rPr><w:b/></w:rPr>' : '';
        return `<w:r>${bold}<w:t xml:space="preserve">${escapeXml(text)}</w:t></w:r>`;
      });
      return `<w:p>${runs.join('')}</w:p>`;
    })
    .join('');
  return zipSync({
    '[Content_Types].xml': xml(
      '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        '<Override PartName="/word/document.xml" ' +
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    ),
    '_rels/.rels': xml(
      '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
        '<Relationship Id="rId1" ' +
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" ' +
        'Target="word/document.xml"/></Relationships>',
    ),
    'word/document.xml': xml(`<w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`),
  });
}

/** Parquet with a text column and a chat column (list of {role, content} structs), rowsPerGroup rows a group. */
export function makeParquet(
  rows: { text: string; messages: { role: string; content: string }[] }[],
  rowsPerGroup: number,
) {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: [
        { name: 'text', data: rows.map((r) => r.text) },
        { name: 'messages', data: rows.map((r) => r.messages) },
      ],
      schema: [
        { name: 'root', num_children: 2 },
        { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'messages', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
        { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
        { name: 'element', repetition_type: 'OPTIONAL', num_children: 2 },
        { name: 'role', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'content', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ],
      codec: 'GZIP',
      compressors: { GZIP: (bytes: Uint8Array) => gzipSync(bytes) },
      rowGroupSize: rowsPerGroup,
    }),
  );
}
