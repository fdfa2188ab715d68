/**
 * Markdown for the book: markdown-it with TeX math rendered by KaTeX at build time (no script runs
 * in the reader's browser for it), TypeScript highlighted by highlight.js, and an anchor on every
 * heading. Everything here is pure: text in, HTML out.
 */
import MarkdownIt from 'markdown-it';
import katex from 'katex';
// The whole of highlight.js (its common languages): loaded only by `kdlab book`.
import hljs from 'highlight.js';
import { escapeHtml } from 'kdlab/internals';

type StateBlock = MarkdownIt.StateBlock;
type StateInline = MarkdownIt.StateInline;

const LANGUAGE_ALIASES: Record<string, string> = { ts: 'typescript', js: 'javascript', sh: 'bash', shell: 'bash', console: 'bash' };

/** Highlighted HTML for a code block (without the <pre>); plain escaped text for unknown languages. */
export function highlightCode(code: string, language = 'typescript'): string {
  const lang = LANGUAGE_ALIASES[language] ?? language;
  if (!hljs.getLanguage(lang)) return escapeHtml(code);
  return hljs.highlight(code, { language: lang, ignoreIllegals: true }).value;
}

/** A full <pre><code> block, highlighted. */
export function codeBlock(code: string, language = 'typescript'): string {
  const lang = LANGUAGE_ALIASES[language] ?? language;
  const cls = hljs.getLanguage(lang) ? `hljs language-${lang}` : 'hljs';
  return `<pre class="code"><code class="${cls}">${highlightCode(code, lang)}</code></pre>\n`;
}

/** TeX to HTML with KaTeX; a TeX error is shown in place (class katex-error) rather than thrown. */
export function renderTex(tex: string, displayMode: boolean): string {
  return katex.renderToString(tex, { displayMode, throwOnError: false, output: 'htmlAndMathml', strict: 'ignore' });
}

/**
 * `$…$` inline and `$$…$$` (inline or as a block) as in Jupyter: an opening `$` must be followed by
 * a non-space, a closing one preceded by a non-space and not followed by a digit ("$5 and $6" stays
 * text); `\$` is a literal dollar (markdown-it's escape rule runs after this one only at `$`).
 */
function mathInline(state: StateInline, silent: boolean): boolean {
  const src = state.src;
  const start = state.pos;
  if (src.charCodeAt(start) !== 0x24 /* $ */) return false;
  const display = src.charCodeAt(start + 1) === 0x24;
  const open = display ? 2 : 1;
  let end = -1;
  if (display) {
    end = src.indexOf('$$', start + 2);
  } else {
    const first = src.charAt(start + 1);
    if (first === '' || /\s/.test(first)) return false;
    let i = start + 1;
    while (i < state.posMax) {
      const j = src.indexOf('$', i);
      if (j < 0 || j >= state.posMax) break;
      if (src.charAt(j - 1) === '\\') {
        i = j + 1;
        continue;
      }
      if (src.charAt(j + 1) === '$') break; // a $$ never closes inline math
      if (!/\s/.test(src.charAt(j - 1)) && !/[0-9]/.test(src.charAt(j + 1) || ' ')) {
        end = j;
        break;
      }
      i = j + 1;
    }
  }
  if (end < 0 || end >= state.posMax) return false;
  const tex = src.slice(start + open, end);
  if (tex.trim() === '') return false;
  if (!silent) {
    const token = state.push(display ? 'math_inline_display' : 'math_inline', 'math', 0);
    token.content = tex;
    token.markup = display ? '$$' : '$';
  }
  state.pos = end + open;
  return true;
}

/** A paragraph of display math: a line starting with `$$`, up to the line ending with `$$`. */
function mathBlock(state: StateBlock, startLine: number, endLine: number, silent: boolean): boolean {
  let pos = state.bMarks[startLine] + state.tShift[startLine];
  let max = state.eMarks[startLine];
  if (state.sCount[startLine] - state.blkIndent >= 4) return false;
  if (pos + 2 > max || state.src.slice(pos, pos + 2) !== '$$') return false;
  pos += 2;
  let firstLine = state.src.slice(pos, max);
  let lastLine = '';
  let next = startLine;
  let found = false;
  if (firstLine.trim().endsWith('$$')) {
    // $$ … $$ on one line; only a block if nothing follows the closing $$.
    firstLine = firstLine.trim().slice(0, -2);
    found = true;
  }
  for (; !found; ) {
    next++;
    if (next >= endLine) break;
    pos = state.bMarks[next] + state.tShift[next];
    max = state.eMarks[next];
    if (pos < max && state.tShift[next] < state.blkIndent) break;
    const line = state.src.slice(pos, max).trim();
    if (line.endsWith('$$')) {
      lastLine = line.slice(0, -2);
      found = true;
    }
  }
  if (!found) return false;
  if (silent) return true;
  state.line = next + 1;
  const token = state.push('math_block', 'math', 0);
  token.block = true;
  const middle = next > startLine + 1 ? state.getLines(startLine + 1, next, state.tShift[startLine], true) : '';
  token.content = [firstLine, middle, lastLine].filter((s) => s.trim() !== '').join('\n');
  token.map = [startLine, state.line];
  token.markup = '$$';
  return true;
}

/** Heading ids: lower-case words (CJK kept), joined by "-", unique per page. */
export function slugify(text: string, taken: Set<string>): string {
  const base =
    text
      .toLowerCase()
      .normalize('NFKC')
      .replace(/[^\p{L}\p{N}\s-]/gu, ' ')
      .trim()
      .replace(/\s+/g, '-')
      .replace(/-+/g, '-')
      .slice(0, 80) || 'section';
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}

export interface Heading {
  level: number;
  id: string;
  /** Plain text (math as its TeX source). */
  text: string;
  /** The heading's content as HTML (math rendered), without the anchor. */
  html: string;
}

/**
 * Where a notebook's link to another notebook (`02-teacher-and-student.ipynb#Some-heading`, as
 * Jupyter writes them) points in the book: that page, with Jupyter's heading anchor (the heading
 * text, spaces as "-") turned into the book's id. null when the notebook is not in this book.
 */
export function bookHref(href: string, pages: ReadonlySet<string>): string | null | undefined {
  const m = /^(?:\.\/)?([\w.-]+)\.ipynb(#.*)?$/.exec(href);
  if (!m) return undefined; // not a link between notebooks: left as written
  if (!pages.has(m[1])) return null;
  if (!m[2]) return `${m[1]}.html`;
  let anchor: string;
  try {
    anchor = decodeURIComponent(m[2].slice(1));
  } catch {
    anchor = m[2].slice(1);
  }
  return `${m[1]}.html#${encodeURIComponent(slugify(anchor.replace(/-/g, ' '), new Set()))}`;
}

/** One markdown renderer per page, so heading ids stay unique across the page's cells. */
export class BookMarkdown {
  readonly headings: Heading[] = [];
  private readonly ids = new Set<string>();
  private readonly md: InstanceType<typeof MarkdownIt>;

  /** `pages`: the notebooks (by name, without .ipynb) that have a page in this book. */
  constructor(pages: ReadonlySet<string> = new Set()) {
    const md = new MarkdownIt({ html: true, linkify: false, typographer: false, highlight: (code, lang) => highlightCode(code, lang || 'typescript') });
    md.inline.ruler.before('escape', 'math_inline', mathInline);
    md.block.ruler.before('fence', 'math_block', mathBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
    md.renderer.rules.math_inline = (tokens, idx) => renderTex(tokens[idx].content, false);
    md.renderer.rules.math_inline_display = (tokens, idx) => renderTex(tokens[idx].content, true);
    md.renderer.rules.math_block = (tokens, idx) => `<div class="math-display">${renderTex(tokens[idx].content, true)}</div>\n`;
    md.renderer.rules.fence = (tokens, idx) => {
      const t = tokens[idx];
      return codeBlock(t.content, t.info.trim().split(/\s+/)[0] || 'typescript');
    };
    md.renderer.rules.heading_open = (tokens, idx, options, env, self) => {
      const open = tokens[idx];
      const children = tokens[idx + 1]?.children ?? [];
      // Math counts as its TeX for the id and the plain text, and is rendered in the HTML (tables of contents).
      const text = children.filter((c) => ['text', 'code_inline', 'math_inline', 'math_inline_display'].includes(c.type)).map((c) => c.content).join('');
      const id = slugify(text, this.ids);
      open.attrSet('id', id);
      this.headings.push({ level: Number(open.tag.slice(1)), id, text, html: self.renderInline(children, options, env) });
      return self.renderToken(tokens, idx, options);
    };
    // Links between notebooks go to the book's pages; a notebook missing from this book (a
    // partial build) leaves its link text without a dead link.
    const unlinked = new WeakSet<object>();
    md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
      const token = tokens[idx];
      const target = bookHref(String(token.attrGet('href') ?? ''), pages);
      if (target === null) {
        unlinked.add(token);
        let depth = 0;
        for (let j = idx + 1; j < tokens.length; j++) {
          if (tokens[j].type === 'link_open') depth++;
          if (tokens[j].type === 'link_close' && depth-- === 0) {
            unlinked.add(tokens[j]);
            break;
          }
        }
        return '<span class="unlinked" title="not in this book">';
      }
      if (target !== undefined) token.attrSet('href', target);
      return self.renderToken(tokens, idx, options);
    };
    md.renderer.rules.link_close = (tokens, idx, options, env, self) =>
      unlinked.has(tokens[idx]) ? '</span>' : self.renderToken(tokens, idx, options);
    md.renderer.rules.heading_close = (tokens, idx) => {
      const id = String(tokens[idx - 2]?.attrGet('id') ?? '');
      return ` <a class="anchor" href="#${escapeHtml(id)}" aria-label="link to this section">#</a></${tokens[idx].tag}>\n`;
    };
    this.md = md;
  }

  render(markdown: string): string {
    return this.md.render(markdown);
  }
}
