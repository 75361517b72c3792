#!/usr/bin/env node
// The binary is one CommonJS bundle (scripts/bundle.mjs), run with Node's compile cache (run-bundle.cjs).
require('./run-bundle.cjs').loadBundle('sstash-run').main(process.argv.slice(2))
