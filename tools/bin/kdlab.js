#!/usr/bin/env node
// Committed shim so that npm can link the `kdlab` bin before the library is compiled.
const path = require('node:path');
const fs = require('node:fs');
const cli = path.join(__dirname, '..', 'dist', 'cli.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('kdlab: the tools are not built (tools/dist/cli.js is missing). Run `npm run build` in the workbook folder.\n');
  process.exit(1);
}
require(cli);
