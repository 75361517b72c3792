/**
 * A secret canary that must never show: not in `ps` output (any process's argv), not in
 * error text, not in SSTASH_DEBUG=1 output, not in a child's environment when it is the
 * password. The built binaries run as a user runs them, failing in every way we can think of.
 * Also the env-name refusals and credential-protocol injections through the real binaries.
 */
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, TEST_KDF_SPEC, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const dir = tempDir()
const STASH = join(dir, 'canary.sstash')
const PASSWORD = 'pw-CANARY-5b1e0c9d'
const SECRET = 'sv-CANARY-91b2e4d0'
const WRONG = 'wrong-CANARY-7f3a'
const CANARIES = [PASSWORD, SECRET, WRONG, 'CANARY']
const runtime = join(dir, 'run')
// No agent: each binary derives the key itself (so the password travels as far as it can).
const env = { SSTASH_FILE: STASH, SSTASH_PASSWORD: PASSWORD, XDG_RUNTIME_DIR: runtime, HOME: dir, GIT_TERMINAL_PROMPT: '0' }

/** Asserts that no canary appears in a result's stderr (and stdout unless it is expected there). */
function clean(result: RunResult, options: { stdout?: boolean } = {}): void {
  for (const canary of CANARIES) {
    expect(result.stderr, `stderr holds ${canary}`).not.toContain(canary)
    if (options.stdout !== false) expect(result.stdout, `stdout holds ${canary}`).not.toContain(canary)
  }
}

/** Every process's full argv, as `ps` would print it. */
function allArgv(): string {
  let out = ''
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      out += `${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}\n`
    } catch {
      // the process has gone
    }
  }
  return out
}

beforeAll(async () => {
  const init = await runBin('sstash', ['init', '--kdf', TEST_KDF_SPEC], { env })
  expect(init.code, init.stderr).toBe(0)
  for (const [key, value] of [
    ['app/TOKEN', SECRET],
    ['app/OTHER', 'plain'],
    ['bad/NUL', `${SECRET}\0x`],
    ['evil/LD_PRELOAD', `/tmp/${SECRET}.so`],
    ['evil2/NODE_OPTIONS', `--require /tmp/${SECRET}.js`],
    ['empty/\\e', SECRET],
  ] as const) {
    const set = await runBin('sstash', ['set', key], { env, input: value })
    expect(set.code, set.stderr).toBe(0)
    clean(set)
  }
})

afterAll(async () => {
  await runBin('sstash', ['lock', '--all'], { env })
})

describe('the stash file', () => {
  it('holds neither the password nor any value in the clear', () => {
    const bytes = readFileSync(STASH).toString('latin1')
    for (const canary of CANARIES) expect(bytes).not.toContain(canary)
    expect(readdirSync(dir).filter((name) => name.includes('.tmp') || name.endsWith('.lock'))).toEqual([])
  })
})

describe('error text and debug output', () => {
  const failures: Array<[string, 'sstash' | 'run' | 'git', string[], Record<string, string>, string?]> = [
    ['a wrong password', 'sstash', ['get', 'app/TOKEN'], { SSTASH_PASSWORD: WRONG }],
    ['a missing key', 'sstash', ['get', 'app/MISSING'], {}],
    ['a key path with bad syntax', 'sstash', ['get', 'app/\\q'], {}],
    ['a value read into a missing stash', 'sstash', ['set', 'x/y'], { SSTASH_FILE: join(dir, 'none', 'missing.sstash') }, SECRET],
    ['a file to store that does not exist', 'sstash', ['set', 'x', '--file', join(dir, 'missing-file')], {}],
    ['an unknown option', 'sstash', ['get', '--bogus', 'app/TOKEN'], {}],
    ['an environment value holding NUL', 'run', ['-k', 'bad', '--', 'true'], {}],
    ['LD_PRELOAD from the stash', 'run', ['-k', 'evil', '--', 'true'], {}],
    ['NODE_OPTIONS from the stash', 'run', ['-k', 'evil2', '--', 'true'], {}],
    ['an empty variable name', 'run', ['-k', 'empty', '--', 'true'], {}],
    ['a command that does not exist', 'run', ['-k', 'app', '--', join(dir, 'no-such-command')], {}],
    ['a wrong password in sstash-run', 'run', ['-k', 'app', '--', 'true'], { SSTASH_PASSWORD: WRONG }],
    ['a credential line without =', 'git', ['store'], {}, `protocol=https\nhost=example.com\nusername=bob\npassword=${SECRET}\nno-equals-${SECRET}\n\n`],
    ['a carriage return in a credential value', 'git', ['store'], {}, `protocol=https\nhost=example.com\r\nusername=bob\npassword=${SECRET}\rhost=evil\n\n`],
    ['a credential line too long', 'git', ['store'], {}, `protocol=https\nhost=example.com\npassword=${SECRET}${'x'.repeat(70_000)}\n\n`],
    ['a wrong password in the git helper', 'git', ['get'], { SSTASH_PASSWORD: WRONG }, 'protocol=https\nhost=example.com\n\n'],
  ]

  it.each(failures)('never shows a secret for %s, with or without SSTASH_DEBUG=1', async (_name, bin, args, extra, input) => {
    const [plain, debug] = await Promise.all(
      ['0', '1'].map((flag) => runBin(bin, args, { env: { ...env, ...extra, SSTASH_DEBUG: flag }, input: input ?? '' })),
    )
    for (const result of [plain, debug] as RunResult[]) {
      clean(result)
      if (bin !== 'git' || args[0] !== 'get') expect(result.code).not.toBe(0)
    }
    // Without debug: one error line (plus at most a hint), never a stack trace.
    const lines = (plain as RunResult).stderr.split('\n').filter(Boolean)
    if ((plain as RunResult).code !== 0) {
      expect(lines.length, plain?.stderr).toBeGreaterThanOrEqual(1)
      expect(lines.length, plain?.stderr).toBeLessThanOrEqual(2)
      expect(plain?.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('refuses LD_PRELOAD and NODE_OPTIONS unless allowed by name, then injects them', async () => {
    const allowed = await runBin('run', ['-k', 'evil2', '--allow', 'NODE_OPTIONS', '--', 'sh', '-c', 'test -n "$NODE_OPTIONS" && echo set'], {
      env: { ...env, NODE_OPTIONS: undefined },
    })
    expect(allowed.stdout.trim()).toBe('set')
    const other = await runBin('run', ['-k', 'evil', '--allow', 'NODE_OPTIONS', '--', 'true'], { env })
    expect(other.code).not.toBe(0)
    expect(other.stderr).toMatch(/LD_PRELOAD/)
    clean(other)
  })
})

describe('process arguments', () => {
  it('never carry a secret: not while sstash-run waits for its child, not in the child', async () => {
    const child = spawn(process.execPath, [BIN.run, '-k', 'app', '--', 'sh', '-c', 'echo ready; sleep 5'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('sstash-run did not start its child')), 15_000)
        child.stdout.on('data', (data: Buffer) => {
          if (data.toString().includes('ready')) {
            clearTimeout(timer)
            resolve()
          }
        })
      })
      const argv = allArgv()
      // With process.execve (Node >= 22.15) sstash-run became its command: no sstash-run is left waiting.
      expect(argv).toContain('execve' in process ? 'echo ready; sleep 5' : BIN.run)
      for (const canary of [PASSWORD, SECRET]) expect(argv).not.toContain(canary)
    } finally {
      child.kill('SIGTERM')
    }
  })

  it('never carry a secret while sstash set holds a value read from stdin', async () => {
    const setter = spawn(process.execPath, [BIN.sstash, 'set', 'app/NEW'], { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] })
    setter.stdin.write(SECRET)
    // The process now holds the secret and waits for the end of its input.
    await new Promise((resolve) => setTimeout(resolve, 300))
    const argv = allArgv()
    setter.stdin.end()
    await new Promise((resolve) => setter.on('close', resolve))
    for (const canary of [PASSWORD, SECRET]) expect(argv).not.toContain(canary)
  })
})

describe("the child's environment", () => {
  it('does not receive the password variables, only the selected values', async () => {
    const result = await runBin('run', ['-k', 'app', '--', 'env'], { env: { ...env, SSTASH_PASSWORD_FILE: undefined } })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`TOKEN=${SECRET}`)
    expect(result.stdout).not.toContain(PASSWORD)
    expect(result.stdout).not.toMatch(/^SSTASH_PASSWORD/m)
    clean(result, { stdout: false })
  })

  it('is where the values are, by design: a process running as the user can read them there', async () => {
    // Documented in SECURITY.md: /proc/<pid>/environ of the child is readable by the same user.
    const result = await runBin('run', ['-k', 'app', '--', 'sh', '-c', 'tr "\\0" "\\n" < /proc/$$/environ'], { env })
    expect(result.stdout).toContain(SECRET)
  })
})

describe('the git helper over the protocol', () => {
  it('stores and returns a password without it showing anywhere else', async () => {
    const store = await runBin('git', ['store'], { env, input: `protocol=https\nhost=example.com\nusername=bob\npassword=${SECRET}\n\n` })
    expect(store.code, store.stderr).toBe(0)
    clean(store)
    const get = await runBin('git', ['get'], { env: { ...env, SSTASH_DEBUG: '1' }, input: 'protocol=https\nhost=example.com\n\n' })
    expect(get.stdout).toContain(`password=${SECRET}\n`)
    clean(get, { stdout: false })
  })

  it('never answers for another host smuggled into a value', async () => {
    for (const input of [
      'protocol=https\nhost=evil.example\rhost=example.com\n\n',
      'protocol=https\nhost=evil.example\u2028host=example.com\n\n',
      'url=https://evil.example%0ahost=example.com\n\n',
      'url=https://evil.example%0d%0ahost=example.com\n\n',
      'protocol=https\nhost=evil.example\0host=example.com\n\n',
    ]) {
      const result = await runBin('git', ['get'], { env, input })
      expect(result.stdout, JSON.stringify(input)).not.toContain(SECRET)
      clean(result, { stdout: false })
    }
  })

  it('answers real git: credential fill returns the password', async () => {
    const gitEnv = { ...env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
    const helper = `!${process.execPath} ${BIN.git}`
    const fill = await runCommand('git', ['-c', `credential.helper=${helper}`, 'credential', 'fill'], { env: gitEnv, input: 'protocol=https\nhost=example.com\n\n' })
    expect(fill.stdout).toContain(`password=${SECRET}`)
    clean(fill, { stdout: false })
  })
})
