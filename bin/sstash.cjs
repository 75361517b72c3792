#!/usr/bin/env node
// The binary is one CommonJS bundle (scripts/bundle.mjs): Node starts it faster than ES modules.
require('../dist/bundle/sstash.cjs').main(process.argv.slice(2))
