#!/bin/sh
':' //; s=; [ -r /proc/$$/status ] && while read -r k v; do [ "$k" = SigIgn: ] && s=$v && break; done </proc/$$/status; SSTASH_RUN_SIGIGN=$s exec node -- "$0" "$@"
// sh runs the line above: it notes the signals we were started with ignored (Node resets them before our code runs; src/env/runner.ts passes them on), then runs node with -- first, so that node never reads our --env-file as its own
const { loadBundle } = require('./run-bundle.cjs'), argv = process.argv.slice(2)
// The agent serves the read from a small bundle (src/cli/run-agent.ts); else the full one opens the stash.
loadBundle('sstash-run-agent').main(argv, (handed) => loadBundle('sstash-run').main(argv, handed))
