#!/usr/bin/env node
import { main } from '../dist/cli/sstash.js'
await main(process.argv.slice(2))
