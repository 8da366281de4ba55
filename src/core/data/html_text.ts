// The text of an HTML document, as a reader sees it: htmlparser2 (a tokenizer that builds no DOM and runs
// nothing, the same in Node and a browser worker, fed as the file streams in) reports tags and text; scripts,
// styles, templates and the head are left out, whitespace collapses as a browser lays text out (not inside
// <pre>), and block elements start new lines, paragraphs a blank line, table cells a tab, as innerText does.
import { Parser } from 'htmlparser2';

/** Elements whose content is not text a reader sees. */
const SKIPPED = new Set([
  'head',
  'script',
  'style',
  'noscript',
  'template',
  'svg',
  'math',
  'iframe',
  'object',
  'canvas',
]);
/** Elements that stand on lines of their own. */
const BLOCKS = new Set([
  'address', 'article', 'aside', 'blockquote', 'dd', 'details', 'dialog', 'div', 'dl', 'dt', 'fieldset',
  'figcaption', 'figure', 'footer', 'form', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'header', 'hgroup', 'hr', 'li',
  'main', 'nav', 'ol', 'pre', 'section', 'summary', 'table', 'tr', 'ul', 'caption', 'title', 'body', 'html',
]); // prettier-ignore
/** Elements followed by a blank line. */
const PARAGRAPHS = new Set(['p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'table', 'ul', 'ol']);

export class HtmlTextExtractor {
  private out = '';
  private skipping = 0;
  private pre = 0;
  /** newlines owed before the next text (the larger request wins) */
  private breaks = 0;
  /** what separates the next text from the last on the same line: a space, or a tab between table cells */
  private separator: '' | ' ' | '\t' = '';
  /** nothing written yet, or the last thing written was a newline */
  private lineStart = true;
  private written = false;
  private readonly parser: Parser;

  constructor() {
    this.parser = new Parser(
      {
        onopentag: (name) => {
          if (SKIPPED.has(name)) this.skipping++;
          else if (name === 'br') this.lineBreak(1, true);
          else if (name === 'td' || name === 'th') this.cell();
          else this.blockEdge(name);
          if (name === 'pre') this.pre++;
        },
        onclosetag: (name) => {
          if (SKIPPED.has(name)) this.skipping = Math.max(0, this.skipping - 1);
          else this.blockEdge(name);
          if (name === 'pre') this.pre = Math.max(0, this.pre - 1);
        },
        ontext: (text) => this.text(text),
      },
      { decodeEntities: true, lowerCaseTags: true },
    );
  }

  /** Feeds a piece of the document; returns the text it completed. */
  write(html: string): string {
    this.parser.write(html);
    return this.take();
  }

  /** Ends the document; returns the rest of the text. */
  end(): string {
    this.parser.end();
    return this.take();
  }

  private take(): string {
    const s = this.out;
    this.out = '';
    return s;
  }

  private blockEdge(name: string): void {
    if (PARAGRAPHS.has(name)) this.lineBreak(2);
    else if (BLOCKS.has(name)) this.lineBreak(1);
  }

  private cell(): void {
    if (!this.skipping && this.written) this.separator = '\t';
  }

  /** Asks for n newlines before the next text; a <br> (forced) writes its newline even between empty lines. */
  private lineBreak(n: number, forced = false): void {
    if (this.skipping || !this.written) return;
    if (forced) {
      this.flushBreaks();
      this.out += '\n';
      this.lineStart = true;
      this.separator = '';
    } else this.breaks = Math.max(this.breaks, n);
  }

  private flushBreaks(): void {
    if (this.breaks > 0) {
      const already = this.lineStart ? 1 : 0;
      this.out += '\n'.repeat(Math.max(0, this.breaks - already));
      this.breaks = 0;
      this.lineStart = true;
      this.separator = '';
    }
  }

  private text(raw: string): void {
    if (this.skipping) return;
    if (this.pre) {
      if (!raw) return;
      this.flushBreaks();
      this.out += raw;
      this.separator = '';
      this.written = true;
      this.lineStart = raw.endsWith('\n');
      return;
    }
    const words = raw.split(/[ \t\n\r\f]+/);
    for (let i = 0; i < words.length; i++) {
      if (i > 0 && this.separator === '') this.separator = ' ';
      const w = words[i];
      if (!w) continue;
      this.flushBreaks();
      if (!this.lineStart) this.out += this.separator;
      this.out += w;
      this.separator = '';
      this.lineStart = false;
      this.written = true;
    }
  }
}
