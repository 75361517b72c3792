#!/bin/sh
':' //; exec node -- "$0" "$@"   # sh runs node with -- first, so node never reads our --env-file as its own
require('./run-bundle.cjs').loadBundle('git-credential-sstash').main(process.argv.slice(2))
