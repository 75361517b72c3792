#!/usr/bin/env node
import { main } from '../dist/bundle/git-credential-sstash.js'
await main(process.argv.slice(2))
