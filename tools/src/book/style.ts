/**
 * The book's stylesheet: a reading column of about 50 em, a system sans-serif with CJK fallbacks
 * named explicitly (Noto Sans CJK SC first, so Chinese headings use simplified-Chinese glyph
 * forms), code in a monospace block that scrolls sideways rather than wrapping.
 */
export const BOOK_CSS = `
:root{--fg:#1f2328;--muted:#656d76;--accent:#0a62a8;--border:#d8dee4;--code-bg:#f6f8fa;--out-bg:#fff;--err-bg:#fff1f0}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;font:17px/1.65 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Liberation Sans",Arial,"Noto Sans CJK SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif}
a{color:var(--accent);text-decoration:none}
a:hover{text-decoration:underline}
header.top{border-bottom:1px solid var(--border);background:#fafbfc}
header.top .bar{max-width:54rem;margin:0 auto;padding:.55rem 1.25rem;display:flex;gap:1rem;align-items:baseline;flex-wrap:wrap;font-size:15px}
header.top .home{font-weight:600;color:var(--fg)}
header.top .download{margin-left:auto}
main{max-width:54rem;margin:0 auto;padding:1.25rem 1.25rem 3rem}
h1,h2,h3,h4{line-height:1.3;margin:1.6em 0 .5em}
h1{font-size:1.85rem;margin-top:.6em}
h2{font-size:1.4rem;padding-bottom:.2em;border-bottom:1px solid var(--border)}
h3{font-size:1.15rem}
a.anchor{visibility:hidden;color:var(--muted);font-weight:400;font-size:.8em;margin-left:.2em}
h1:hover a.anchor,h2:hover a.anchor,h3:hover a.anchor,h4:hover a.anchor,a.anchor:focus{visibility:visible}
p,ul,ol{margin:.6em 0}
code{font-family:"DejaVu Sans Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:.88em}
p code,li code,td code{background:var(--code-bg);padding:.1em .3em;border-radius:4px}
pre{margin:0;overflow-x:auto;font:13.5px/1.5 "DejaVu Sans Mono",Menlo,Consolas,"Liberation Mono","Noto Sans Mono CJK SC",monospace}
pre code,pre code.hljs{font-size:inherit;background:none;padding:0;display:inline;overflow:visible}
pre.code{background:var(--code-bg);border:1px solid var(--border);border-radius:6px;padding:.7rem .9rem}
.cell{margin:1rem 0}
.cell.code .input{position:relative}
.cell.code .prompt{position:absolute;right:100%;top:.75rem;margin-right:.5rem;color:var(--muted);font:12px/1.5 "DejaVu Sans Mono",monospace;white-space:nowrap}
.outputs{margin:.35rem 0 0;padding-left:.9rem;border-left:3px solid var(--border)}
.output{margin:.35rem 0}
pre.output{background:var(--out-bg);padding:.25rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
pre.output.stderr{background:#fffbe6;padding:.25rem .5rem}
pre.output.error{background:var(--err-bg);color:#a40e26;padding:.4rem .6rem;border-radius:4px}
.output.html{overflow-x:auto}
.output.image img{max-width:100%;height:auto}
.output.plot{overflow-x:auto;margin:.6rem 0}
figure.full-scale{margin:.2rem 0 1rem}figure.full-scale img{max-width:100%;height:auto;border:1px solid #ddd}
table{border-collapse:collapse;font-size:14px;margin:.4rem 0;font-variant-numeric:tabular-nums}
th,td{padding:.25rem .7rem;border-bottom:1px solid var(--border)}
thead th{border-bottom:2px solid var(--border)}
caption{caption-side:top;text-align:left;font-weight:600;padding:.2rem 0}
.math-display,.katex-display{overflow-x:auto;overflow-y:hidden}
.katex{font-size:1.08em}
blockquote{margin:.8em 0;padding:.1em 1em;border-left:4px solid var(--border);color:#444}
nav.pager{display:flex;justify-content:space-between;gap:1rem;margin:3rem 0 0;padding-top:1rem;border-top:1px solid var(--border);font-size:15px}
nav.pager a{max-width:48%}
nav.pager .next{margin-left:auto;text-align:right}
nav.toc{font-size:15px;background:#fafbfc;border:1px solid var(--border);border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
nav.toc ul{margin:.2rem 0;padding-left:1.2rem}
.meta{color:var(--muted);font-size:14px}
ol.chapters{padding-left:0;list-style:none}
ol.chapters li{margin:.7rem 0;padding:.5rem .8rem;border:1px solid var(--border);border-radius:6px}
ol.chapters .title{font-weight:600}
pre.environment{background:var(--code-bg);border:1px solid var(--border);border-radius:6px;padding:.7rem .9rem;white-space:pre-wrap}
@media (max-width:640px){
  body{font-size:16px}
  main{padding:.8rem .8rem 2rem}
  h1{font-size:1.45rem}
  .cell.code .prompt{display:none}
  .outputs{padding-left:.5rem}
}
`;
