// 'kdlab/compute-internals': what the benchmarks time (see src/compute-internals.ts); notebooks import 'kdlab'.
module.exports = require('./dist/compute-internals');
