/**
 * Node itself reads `--env-file <file>` (and `--env-file=`, `--env-file-if-exists`) anywhere on
 * its command line up to a `--`, even after the script's name, and applies the file's
 * NODE_OPTIONS to the node process (nodejs/node#54232; only a `--` stops it). So with a
 * launcher `#!/usr/bin/env node`, `sstash-run --env-file .env.sstash` and `sstash export
 * --env-file .env.sstash` would let a committed file's `NODE_OPTIONS=--require ./x.js` run code
 * in the process that holds the stash, before sstash reads a byte of it, and around
 * sstash's own refusal of NODE_OPTIONS. Under direnv (`watch_file .env.sstash`) a `git pull`
 * would run it with no `direnv allow`.
 *
 * These tests run the binaries as npm installs them: executed through their `#!` line.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, runCommand, tempDir } from '../helpers.js'

const dir = tempDir()
const marker = join(dir, 'ran')
writeFileSync(join(dir, 'payload.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'x')\n`)
writeFileSync(join(dir, '.env.sstash'), `NODE_OPTIONS=--require ${join(dir, 'payload.cjs')}\n`)

async function ranPayload(bin: string, args: string[]): Promise<boolean> {
  await runCommand(bin, args, { cwd: dir, env: { SSTASH_FILE: join(dir, 'none.sstash') } })
  const ran = existsSync(marker)
  rmSync(marker, { force: true })
  return ran
}

describe('a reference file named on the command line', () => {
  // bin/*.cjs are sh-and-JavaScript launchers that run `node -- <file>`.
  it('is not read by node itself as its own --env-file, for sstash-run', async () => {
    expect(await ranPayload(BIN.run, ['--env-file', '.env.sstash', '--', 'true'])).toBe(false)
  })

  it('is not read by node itself as its own --env-file, for sstash export', async () => {
    expect(await ranPayload(BIN.sstash, ['export', '--env-file=.env.sstash', '--format', 'shell'])).toBe(false)
  })

  it('runs the payload when node is asked to, so the tests above test something', async () => {
    expect(await ranPayload(process.execPath, ['--env-file', '.env.sstash', '-e', ''])).toBe(true)
  })

  it('is not read by node once a -- comes before the script (the fix for the launchers)', async () => {
    expect(await ranPayload(process.execPath, ['--', BIN.run, '--env-file', '.env.sstash', '--', 'true'])).toBe(false)
  })
})
