#!/usr/bin/env node
import { main } from '../dist/bundle/sstash-run.js'
await main(process.argv.slice(2))
