#!/usr/bin/env node
import { main } from '../dist/bundle/sstash.js'
await main(process.argv.slice(2))
