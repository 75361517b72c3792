/**
 * The prompts of `sstash`, on a real pseudo-terminal driven by ../fixtures/cli/pty-drive.py:
 * what a person sees and types, and that nothing typed is echoed.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, TEST_KDF_SPEC, agentRuntimeDir, runBin, runCommand, tempDir } from '../helpers.js'

const DRIVER = join(ROOT, 'test/fixtures/cli/pty-drive.py')
const dir = tempDir()
const runtime = agentRuntimeDir()

/** Runs sstash on a fresh terminal, typing `send` each time `expect` shows up. */
function onTerminal(steps: [expect: string, send: string][], args: string[], env: Record<string, string> = {}) {
  return runCommand('python3', [DRIVER, JSON.stringify(steps), process.execPath, BIN.sstash, ...args], { timeoutMs: 30_000, env: { XDG_RUNTIME_DIR: runtime, ...env } })
}

describe('sstash on a terminal', () => {
  it('asks for the new password twice on init, echoing nothing', async () => {
    const path = join(dir, 'init.sstash')
    const r = await onTerminal(
      [
        ['New password for', 'pw-typed-1\r'],
        ['Repeat the new password: ', 'pw-typed-1\r'],
      ],
      ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC],
    )
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`New password for ${path}: `)
    expect(r.stdout).toContain('Repeat the new password: ')
    expect(r.stdout).toContain(`sstash: created ${path}`)
    expect(r.stdout).not.toContain('pw-typed-1')
    const check = await runBin('sstash', ['--stash', path, 'ls'], { env: { SSTASH_PASSWORD: 'pw-typed-1' } })
    expect(check.code).toBe(0)
  })

  it('refuses two different passwords on init and creates nothing', async () => {
    const path = join(dir, 'mismatch.sstash')
    const r = await onTerminal(
      [
        ['New password for', 'one\r'],
        ['Repeat the new password: ', 'two\r'],
      ],
      ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC],
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('sstash: error: the two passwords differ; nothing was changed')
    expect(existsSync(path)).toBe(false)
  })

  it('refuses an empty password on init without asking again', async () => {
    const path = join(dir, 'empty.sstash')
    const r = await onTerminal([['New password for', '\r']], ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC])
    expect(r.code).toBe(1)
    expect(r.stdout).not.toContain('Repeat')
    expect(r.stdout).toContain('sstash: error: the password is empty; nothing was changed')
    expect(existsSync(path)).toBe(false)
  })

  it('asks for the password, then the value, hidden, when set runs on a terminal', async () => {
    const path = join(dir, 'set.sstash')
    const env = { SSTASH_PASSWORD: 'pw' }
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env })).code).toBe(0)
    const r = await onTerminal(
      [
        ['Password for', 'pw\r'],
        ['Value for project/api/token: ', 'tok-typed-secret\r'],
      ],
      ['--stash', path, 'set', 'project/api/token'],
    )
    expect(r.code).toBe(0)
    expect(r.stdout).not.toContain('tok-typed-secret')
    const get = await runBin('sstash', ['--stash', path, 'get', 'project/api/token'], { env })
    expect(get.stdout).toBe('tok-typed-secret')
  })

  it('asks for the old password once and the new one twice on passwd', async () => {
    const path = join(dir, 'passwd.sstash')
    expect((await runBin('sstash', ['--stash', path, 'init', '--kdf', TEST_KDF_SPEC], { env: { SSTASH_PASSWORD: 'old' } })).code).toBe(0)
    const r = await onTerminal(
      [
        ['Password for', 'old\r'],
        ['New password for', 'new\r'],
        ['Repeat the new password: ', 'new\r'],
      ],
      ['--stash', path, 'passwd'],
    )
    expect(r.code).toBe(0)
    expect((await runBin('sstash', ['--stash', path, 'ls'], { env: { SSTASH_PASSWORD: 'new' } })).code).toBe(0)
  })
})
