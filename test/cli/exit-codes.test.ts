/**
 * Exit statuses come from one table keyed by error code (EXIT_STATUS in src/errors.ts): a
 * damaged or truncated file exits 4, as a wrong password does, whether it is a personal or a
 * team stash, and whichever class of error the code was thrown with.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT, makeStash, runBin, tempDir } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'pw-exit-codes'
const TEAM = join(ROOT, 'test/vectors/team')

describe('a damaged or truncated stash file', () => {
  it('exits 4 when a personal stash is cut short, at any length, never 1', async () => {
    const path = join(dir, 'whole.sstash')
    await makeStash(path, PASSWORD, { a: 'value' })
    const bytes = readFileSync(path)
    const cut = join(dir, 'cut.sstash')
    for (const length of [1, 8, Math.floor(bytes.length / 2), bytes.length - 1]) {
      writeFileSync(cut, bytes.subarray(0, length))
      const r = await runBin('sstash', ['--stash', cut, 'get', 'a'], { env: { SSTASH_PASSWORD: PASSWORD } })
      expect(r.code, `cut to ${length} bytes: ${r.stderr}`).toBe(4)
      expect(r.stderr).toMatch(/^sstash: error: /)
    }
  })

  it('exits 4 when a team stash is cut short, as when one of its records was tampered with', async () => {
    const bytes = readFileSync(join(TEAM, 'good_basic.sstash'))
    const env = { SSTASH_IDENTITY_FILE: join(TEAM, 'alice.txt') }
    const cut = join(dir, 'team-cut.sstash')
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
    const truncated = await runBin('sstash', ['--stash', cut, 'ls'], { env })
    expect(truncated.code, truncated.stderr).toBe(4)
    const tampered = join(dir, 'team-tampered.sstash')
    copyFileSync(join(TEAM, 'fail_moved_value.sstash'), tampered)
    const moved = await runBin('sstash', ['--stash', tampered, 'tree', '--values'], { env })
    expect(moved.code, moved.stderr).toBe(4)
    expect(moved.stderr).toMatch(/^sstash: error: .*(does not verify|changed)/)
  })

  it('exits 1 for a stash from a newer sstash, which is not damaged', async () => {
    const r = await runBin('sstash', ['--stash', join(ROOT, 'test/vectors/fail_native_version_2.sstash'), 'get', 'a'], { env: { SSTASH_PASSWORD: PASSWORD } })
    expect(r.code, r.stderr).toBe(1)
  })
})
