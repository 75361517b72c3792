#!/bin/sh
':' //; exec node -- "$0" "$@"   # sh runs node with -- first, so node never reads our --env-file as its own
const { loadBundle } = require('./run-bundle.cjs'), argv = process.argv.slice(2)
// A plain `sstash get` runs from its own small bundle (src/cli/get.ts); every other line from the full one.
;(argv.includes('get') && loadBundle('sstash-get', argv[0]).main(argv)) || loadBundle('sstash', argv[0]).main(argv)
