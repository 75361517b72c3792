#!/bin/sh
':' //; exec node -- "$0" "$@"   # sh runs node with -- first, so node never reads our --env-file as its own
const { loadBundle } = require('./run-bundle.cjs'), argv = process.argv.slice(2)
// `get` for a stash the agent holds is answered from a small bundle (src/cli/git-credential-get.ts); all else by the full helper.
loadBundle('git-credential-get').main(argv, (pending, said) => loadBundle('git-credential-sstash').main(argv, pending, said))
