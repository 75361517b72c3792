/**
 * Every path a user (or whoever can write where sstash looks) controls, pointed at what never
 * ends or never answers: /dev/zero, /dev/urandom, /dev/full, a FIFO nobody writes to, a
 * directory. Each binary must end at once with one line, never hang or fill memory. Each run is
 * killed after 8 s, far below vitest's 30 s, and a kill fails the test as a hang.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, makeStash, runBin, runCommand, tempDir, type RunOptions, type RunResult } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'pw-bounded'
const TEAM = join(ROOT, 'test/vectors/team')
const GIT_GET = 'protocol=https\nhost=example.com\n\n'
let n = 0

/** Each hostile thing, made fresh at `path`: a device by symlink, a FIFO, a directory. */
const HOSTILE: Record<string, (path: string) => void> = {
  '/dev/zero': (path) => symlinkSync('/dev/zero', path),
  '/dev/urandom': (path) => symlinkSync('/dev/urandom', path),
  '/dev/full': (path) => symlinkSync('/dev/full', path),
  'a FIFO nobody writes to': (path) => execFileSync('mkfifo', [path]),
  'a directory': (path) => mkdirSync(path),
}

/** A fresh path in a fresh directory, holding `kind`. */
function hostile(kind: string, name = 'file'): string {
  const where = join(dir, `h${++n}`)
  mkdirSync(where)
  const path = join(where, name)
  ;(HOSTILE[kind] as (path: string) => void)(path)
  return path
}

const FAST: RunOptions = { timeoutMs: 8_000 }
const run = (bin: keyof typeof BIN, args: string[], options: RunOptions = {}): Promise<RunResult> => runBin(bin, args, { ...FAST, ...options })

/** Ended by itself (not killed as a hang), with `code`, and stderr one error line (and a hint) matching `what`. */
function expectOneLine(result: RunResult, code: number, what: RegExp): void {
  expect(result.signal, `killed after 8 s: it hung (${result.stderr})`).toBeNull()
  expect(result.code, result.stderr).toBe(code)
  expect(result.stderr).toMatch(new RegExp(`^sstash: (error|warning): ${what.source}\n(sstash: hint: [^\n]*\n)?$`))
}

const stash = join(dir, 'personal.sstash')
await makeStash(stash, PASSWORD, { a: 'value' })

describe.each(Object.keys(HOSTILE))('%s', (kind) => {
  const notRead = kind === 'a FIFO nobody writes to' ? /.*/ : /.*is not a regular file/

  it('at SSTASH_PASSWORD_FILE ends sstash get and git-credential-sstash get at once', async () => {
    const file = hostile(kind)
    const env = { SSTASH_PASSWORD_FILE: file }
    const get = await run('sstash', ['--stash', stash, 'get', 'a'], { env })
    const helper = await run('git', ['--stash', stash, 'get'], { env, input: GIT_GET })
    if (kind === 'a FIFO nobody writes to') {
      // A pipe is a password source the user may choose (<(pass show x)): with no writer it reads as empty, a wrong password.
      expectOneLine(get, 4, /cannot decrypt .*/)
      expect(helper.signal).toBeNull()
    } else {
      expectOneLine(get, 5, new RegExp(`SSTASH_PASSWORD_FILE ${file} is not a regular file`))
      expectOneLine(helper, 0, new RegExp(`SSTASH_PASSWORD_FILE ${file} is not a regular file`))
      expect(helper.stdout).toBe('')
    }
  })

  it('at SSTASH_NEW_PASSWORD_FILE ends sstash passwd at once, changing nothing', async () => {
    const before = readFileSync(stash)
    const r = await run('sstash', ['--stash', stash, 'passwd'], { env: { SSTASH_PASSWORD: PASSWORD, SSTASH_NEW_PASSWORD_FILE: hostile(kind) } })
    expect(r.signal).toBeNull()
    expect(r.code).not.toBe(0)
    expect(readFileSync(stash).equals(before)).toBe(true)
  })

  it('at ~/.config/sstash/git.json ends git-credential-sstash get at once, with no terminal', async () => {
    const config = join(dir, `config${++n}`)
    mkdirSync(join(config, 'sstash'), { recursive: true })
    HOSTILE[kind]?.(join(config, 'sstash', 'git.json'))
    const r = await run('git', ['--stash', stash, 'get'], { env: { SSTASH_PASSWORD: PASSWORD, XDG_CONFIG_HOME: config }, input: GIT_GET })
    expectOneLine(r, 1, kind === 'a FIFO nobody writes to' ? /.*git\.json is not a regular file/ : notRead)
    expect(r.stdout).toBe('')
  })

  it('at SSTASH_IDENTITY_FILE ends a read of a team stash at once', async () => {
    const team = join(dir, `team${++n}.sstash`)
    copyFileSync(join(TEAM, 'good_basic.sstash'), team)
    const r = await run('sstash', ['--stash', team, 'get', 'dev/api/token'], { env: { SSTASH_IDENTITY_FILE: hostile(kind) } })
    expectOneLine(r, 1, /.*is not a regular file/)
  })

  it('at the team stash generations seen ends a read of a team stash at once', async () => {
    const team = join(dir, `team${++n}.sstash`)
    copyFileSync(join(TEAM, 'good_basic.sstash'), team)
    const state = join(dir, `state${++n}`)
    mkdirSync(join(state, 'sstash'), { recursive: true })
    HOSTILE[kind]?.(join(state, 'sstash', 'team-seen'))
    const r = await run('sstash', ['--stash', team, 'get', 'dev/api/token'], { env: { SSTASH_IDENTITY_FILE: join(TEAM, 'alice.txt'), XDG_STATE_HOME: state } })
    expectOneLine(r, 1, /.*team-seen is not a regular file/)
  })

  it('as a reference file, a template, a package.json, a value file or a key file ends each command at once', async () => {
    const env = { SSTASH_PASSWORD: PASSWORD, SSTASH_FILE: stash }
    const refs = await run('run', ['--env-file', hostile(kind), '--', 'true'], { env })
    expectOneLine(refs, 1, /.*is not a regular file/)
    const exported = await run('sstash', ['export', '--env-file', hostile(kind)], { env })
    expectOneLine(exported, 1, /.*is not a regular file/)
    const template = await run('sstash', ['inject', '-i', hostile(kind)], { env })
    expectOneLine(template, 1, /.*is not a regular file/)
    const project = hostile(kind, 'package.json')
    const fromPackage = await run('run', ['--', 'true'], { env, cwd: join(project, '..') })
    expect(fromPackage.signal, 'sstash-run hung on package.json').toBeNull()
    // Passed over, not read (whether the warning is printed is sstash-run's own business, docs/RUN.md).
    expect(fromPackage.stderr).toMatch(/package\.json (is not a regular file: )?not read/)
    const key = await run('sstash', ['--stash', join(dir, 'none.sstash'), 'team', 'add', 'bob', '--key', hostile(kind)], { env })
    expect(key.signal).toBeNull()
    expect(key.code).toBe(1)
    if (kind !== 'a FIFO nobody writes to') {
      const value = await run('sstash', ['set', 'v', '--file', hostile(kind)], { env })
      expectOneLine(value, 1, /.*is not a regular file/)
      const imported = await run('sstash', ['import', hostile(kind), '--into', 'x'], { env })
      expectOneLine(imported, 1, /.*is not a regular file/)
    }
  })

  it('at ~/.git-credentials is reported by doctor at once, and refused by import', async () => {
    const home = join(dir, `home${++n}`)
    mkdirSync(home)
    HOSTILE[kind]?.(join(home, '.git-credentials'))
    const doctor = await run('sstash', ['--stash', stash, 'doctor'], { env: { HOME: home, XDG_CONFIG_HOME: join(home, '.config') } })
    expect(doctor.signal, 'doctor hung').toBeNull()
    expect(doctor.stdout).toContain(`${home}/.git-credentials is there but cannot be read`)
    const imported = await run('sstash', ['--stash', stash, 'import', join(home, '.git-credentials'), '--format', 'git-credentials'], { env: { SSTASH_PASSWORD: PASSWORD } })
    expect(imported.signal).toBeNull()
    if (kind !== 'a FIFO nobody writes to') expectOneLine(imported, 1, /.*is not a regular file/)
  })
})

describe('what is read to its end', () => {
  it('refuses stdin past what a value can hold (/dev/zero as stdin), storing nothing', async () => {
    const before = readFileSync(stash)
    const r = await runCommand('sh', ['-c', 'exec "$0" -- "$1" --stash "$2" set big < /dev/zero', process.execPath, BIN.sstash, stash], { env: { SSTASH_PASSWORD: PASSWORD }, timeoutMs: 20_000 })
    expect(r.signal).toBeNull()
    expectOneLine(r, 1, /stdin is too large \(more than 134217728 bytes\)/)
    expect(readFileSync(stash).equals(before)).toBe(true)
  })

  it('reads a password and a value from pipes the user chose, such as <(printf ...)', async () => {
    const value = join(dir, 'piped.sstash')
    await makeStash(value, PASSWORD, {})
    const script = 'SSTASH_PASSWORD_FILE=<(printf %s "$PW") "$0" -- "$1" --stash "$2" set piped --file <(printf "line 1\\nline 2\\n") && SSTASH_PASSWORD_FILE=<(printf %s "$PW") "$0" -- "$1" --stash "$2" get piped'
    const r = await runCommand('bash', ['-c', script, process.execPath, BIN.sstash, value], { env: { PW: PASSWORD }, timeoutMs: 8_000 })
    expect(r).toMatchObject({ code: 0, stdout: 'line 1\nline 2\n', signal: null })
  })

  it('reads a .env to import from a pipe the user chose', async () => {
    const target = join(dir, 'import-pipe.sstash')
    await makeStash(target, PASSWORD, {})
    const r = await runCommand('bash', ['-c', '"$0" -- "$1" --stash "$2" import <(printf "A=1\\n") --into app', process.execPath, BIN.sstash, target], { env: { SSTASH_PASSWORD: PASSWORD }, timeoutMs: 8_000 })
    expect(r).toMatchObject({ code: 0, signal: null })
  })
})
