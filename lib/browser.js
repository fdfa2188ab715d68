// 'kdlab/browser': what runs in a browser tab (the playground page; see src/export/browser.ts).
module.exports = require('./dist/export/browser');
