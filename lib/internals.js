// 'kdlab/internals': the tools' and tests' entry (see src/internals.ts); notebooks import 'kdlab'.
module.exports = require('./dist/internals');
