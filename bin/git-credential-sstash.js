#!/usr/bin/env node
import { main } from '../dist/cli/git-credential.js'
await main(process.argv.slice(2))
