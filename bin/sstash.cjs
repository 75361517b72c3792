#!/bin/sh
':' //; exec node -- "$0" "$@"   # sh runs node with -- first, so node never reads our --env-file as its own
const { loadBundle } = require('./run-bundle.cjs'), argv = process.argv.slice(2)
// A plain `sstash get` is answered by the agent from a small bundle (src/cli/get-agent.ts), else
// opens the stash from a bundle of its own (src/cli/get.ts); every other line runs the full one.
const full = () => loadBundle('sstash', argv[0]).main(argv)
const opened = (said) => loadBundle('sstash-get', argv[0]).main(argv, said) || full()
;(argv.includes('get') && loadBundle('sstash-get-agent', argv[0]).main(argv, opened)) || full()
