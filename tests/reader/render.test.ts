/**
 * The book's renderer without a browser: TeX found where Jupyter finds it and rendered by KaTeX,
 * dollars that are not math left alone, heading anchors unique, TypeScript highlighted, and
 * notebook outputs turned into HTML (the plotly.js loader dropped, figures sized by the page).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BookMarkdown, slugify } from '../../tools/src/book/markdown';
import { renderNotebook } from '../../tools/src/book/render';
import type { Notebook } from '../../tools/src/runner/nbformat';
import { buildFigure } from '../../lib/src/plot/registry';
import { displayBundle, plotlyLoaderHtml } from '../../lib/src/plot/display';
import { SAMPLE_INPUTS } from '../plot/fixtures';

const katexCount = (html: string): number => (html.match(/class="katex"/g) ?? []).length;

test('math: $…$, $$…$$ inline and as a block, environments; \\$ and "$5 and $6" stay text', () => {
  const md = new BookMarkdown();
  const html = md.render(
    'Inline $T$ and $$x^2$$ here; costs \\$5, or $5 and $6.\n\n$$\\frac{a}{b}$$\n\n$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$\n',
  );
  assert.equal(katexCount(html), 4, html);
  assert.equal((html.match(/class="katex-display"/g) ?? []).length, 3);
  assert.ok(!html.includes('katex-error'));
  assert.match(html, /costs \$5, or \$5 and \$6\./);
  assert.ok(!/\\frac|\$\$/.test(html.replace(/<annotation[^>]*>[\s\S]*?<\/annotation>/g, '')), 'no raw TeX outside MathML annotations');
});

test('headings: ids from the text (Chinese kept, math as TeX), unique per page, with an anchor', () => {
  const md = new BookMarkdown();
  const html = md.render('# 01 · §2.2 软标签 — Soft labels\n\n## The limits $T \\to 0$\n\n## The limits $T \\to 0$\n');
  assert.deepEqual(
    md.headings.map((h) => h.id),
    ['01-2-2-软标签-soft-labels', 'the-limits-t-to-0', 'the-limits-t-to-0-2'],
  );
  assert.match(html, /<h2 id="the-limits-t-to-0-2">.*<a class="anchor" href="#the-limits-t-to-0-2"/);
  assert.equal(katexCount(md.headings[1].html), 1);
  assert.equal(slugify('!!!', new Set()), 'section');
});

test('fenced code and code cells are highlighted as TypeScript', () => {
  const html = new BookMarkdown().render('```ts\nconst x: number = 1;\n```\n');
  assert.match(html, /<pre class="code"><code class="hljs language-typescript"><span class="hljs-keyword">const<\/span>/);
});

test('outputs: streams escaped, errors counted, the loader dropped, figures collected without a fixed width', () => {
  const figure = buildFigure('entropy-vs-T', SAMPLE_INPUTS['entropy-vs-T']);
  assert.ok(figure.layout.width, 'the sample figure has a fixed width to drop');
  const nb: Notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {},
    cells: [
      { cell_type: 'markdown', id: 'm', metadata: {}, source: ['# Title\n'] },
      {
        cell_type: 'code',
        id: 'c',
        metadata: { tags: ['parameters'] },
        execution_count: 4,
        source: 'show(fig)',
        outputs: [
          { output_type: 'stream', name: 'stdout', text: '<b>not bold</b>\n' },
          { output_type: 'display_data', metadata: {}, data: { 'text/html': plotlyLoaderHtml(), 'text/plain': 'loader' } },
          { output_type: 'display_data', metadata: {}, data: displayBundle(figure) },
          { output_type: 'error', ename: 'TypeError', evalue: 'x is undefined', traceback: ['\u001b[31mTypeError\u001b[0m: x is undefined'] },
        ],
      },
    ],
  };
  const r = renderNotebook(nb, 'p');
  assert.equal(r.title, 'Title');
  assert.equal(r.codeCells, 1);
  assert.equal(r.errorOutputs, 1);
  assert.match(r.html, /&lt;b&gt;not bold&lt;\/b&gt;/);
  assert.match(r.html, /<pre class="output error">TypeError: x is undefined<\/pre>/);
  assert.ok(!r.html.includes('kdlab-plotly-loader'));
  assert.ok(r.html.length < 20_000, `page body is ${r.html.length} characters: the 2 MB loader must not be in it`);
  assert.equal(r.figures.length, 1);
  assert.equal(r.figures[0].figure.layout.width, undefined);
  assert.equal(r.figures[0].figure.layout.height, figure.layout.height);
  assert.match(r.html, /<section class="cell code tag-parameters" id="cell-c">/);
});

test('links between notebooks go to the book pages (Jupyter anchors mapped to the book ids); absent ones lose the link', async () => {
  const { bookHref, BookMarkdown } = await import('../../tools/src/book/markdown');
  const pages = new Set(['01-a', '03-b']);
  assert.equal(bookHref('03-b.ipynb', pages), '03-b.html');
  assert.equal(bookHref('./03-b.ipynb#%E7%AC%A6%E5%8F%B7%E8%A1%A8-%C2%B7-Notation', pages), `03-b.html#${encodeURIComponent('符号表-notation')}`);
  assert.equal(bookHref('02-c.ipynb', pages), null);
  assert.equal(bookHref('https://arxiv.org/abs/1503.02531', pages), undefined);
  const md = new BookMarkdown(pages);
  // The anchor a Jupyter link names is the id the book gives the same heading.
  const target = new BookMarkdown(pages);
  target.render('## 符号表 · Notation');
  assert.equal(target.headings[0].id, '符号表-notation');
  const html = md.render('See [the table](03-b.ipynb#符号表-·-Notation), [02](02-c.ipynb) and [the paper](https://arxiv.org/abs/1503.02531).');
  assert.match(html, /<a href="03-b\.html#%E7%AC%A6%E5%8F%B7%E8%A1%A8-notation">the table<\/a>/);
  assert.match(html, /<span class="unlinked" title="not in this book">02<\/span>/);
  assert.match(html, /<a href="https:\/\/arxiv\.org\/abs\/1503\.02531">the paper<\/a>/);
});
