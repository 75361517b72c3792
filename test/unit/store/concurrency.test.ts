import { describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { SecureStash } from '../../../src/index.js'
import { makeStash, ROOT, runCommand, tempDir } from '../../helpers.js'

const dir = tempDir()
const FIXTURES = join(ROOT, 'test/fixtures/stash')

describe('several writers at once', () => {
  it('keeps every key when 20 processes write distinct keys at the same time', async () => {
    const path = join(dir, 'shared.sstash')
    await makeStash(path, 'pw', { existing: 'kept' })
    const writers = Array.from({ length: 20 }, (_, i) =>
      runCommand(process.execPath, [join(FIXTURES, 'write-key.mjs'), path, 'pw', `key${i}`, `value${i}`], { timeoutMs: 60_000 }),
    )
    const results = await Promise.all(writers)
    for (const result of results) expect(result).toMatchObject({ code: 0, stderr: '' })
    const stash = await SecureStash.open(path, 'pw')
    const children = await stash.getChildren([])
    expect(children.sort()).toEqual(['existing', ...Array.from({ length: 20 }, (_, i) => `key${i}`)].sort())
    for (let i = 0; i < 20; i++) expect(new TextDecoder().decode(await stash.readValue([`key${i}`]))).toBe(`value${i}`)
    expect(readdirSync(dir).filter((name) => name.startsWith('shared'))).toEqual(['shared.sstash'])
  }, 90_000)
})

describe('a writer killed at any instant', () => {
  it('always leaves a file holding the old or the new content, and its lock is recovered', async () => {
    const path = join(dir, 'crash.sstash')
    await makeStash(path, 'pw', { counter: '0' })
    for (let round = 0; round < 12; round++) {
      const child = spawn(process.execPath, [join(FIXTURES, 'write-forever.mjs'), path, 'pw'], { stdio: ['ignore', 'pipe', 'inherit'] })
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()))
      // Let it run for a random while, then kill it mid-whatever it is doing.
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 60))
      child.kill('SIGKILL')
      await new Promise((resolve) => child.once('close', resolve))
      const stash = await SecureStash.open(path, 'pw')
      const counter = Number(new TextDecoder().decode(await stash.readValue(['counter'])))
      expect(counter).toBeGreaterThanOrEqual(1)
      // The dead writer's lock (if it held one) must not block the next write for long.
      const started = Date.now()
      await stash.writeValue(['counter'], new TextEncoder().encode('0'))
      expect(Date.now() - started).toBeLessThan(3_000)
    }
    expect(existsSync(`${path}.lock`)).toBe(false)
    expect(readdirSync(dir).filter((name) => name.includes('crash'))).toEqual(['crash.sstash'])
  }, 120_000)
})
