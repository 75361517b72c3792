/**
 * `sstash team resolve <keypath> --show` after a real git merge (issue 24): both sides' values
 * of one key path when stdout is a real pseudo-terminal (../fixtures/cli/pty-drive.py), the
 * sides this member can open only, and never a value through a pipe, for many key paths, or
 * as JSON. A value planted with terminal escapes is shown escaped, never run by the terminal.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, runBin, runCommand, tempDir, type RunResult, memberEnv } from '../helpers.js'

const DRIVER = join(ROOT, 'test/fixtures/cli/pty-drive.py')
const dir = tempDir()
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined
const S = ['--stash', 'secrets.sstash']
let n = 0

/** A new age identity file and its recipient. */
function ageKey(name: string): { key: string; recipient: string } {
  const key = join(dir, `${name}-${++n}.key`)
  spawnSync('age-keygen', ['-o', key])
  return { key, recipient: spawnSync('age-keygen', ['-y', key], { encoding: 'utf8' }).stdout.trim() }
}

/**
 * A git repository whose team stash (scopes dev and prod; alice holds both, bob dev only) is
 * mid-merge: dev/shared (set on theirs by `sharedBy`) and prod/db set to different values on
 * each side, dev/gone set on ours and removed on theirs; `thenOnOurs` runs on ours before its
 * values are set.
 */
async function conflictedRepo(theirsShared = 'theirs-secret', { sharedBy = 'alice', thenOnOurs = [] }: { sharedBy?: 'alice' | 'bob'; thenOnOurs?: string[][] } = {}) {
  const home = join(dir, `case-${++n}`)
  const repo = join(home, 'repo')
  mkdirSync(repo, { recursive: true })
  const alice = ageKey('alice')
  const bob = ageKey('bob')
  const env = memberEnv(home, alice.key)
  const git = (...args: string[]): Promise<RunResult> => runCommand('git', args, { cwd: repo, env })
  const sstash = (args: string[], input?: string): Promise<RunResult> => runBin('sstash', [...S, ...args], { cwd: repo, env, input })
  await git('init', '-q', '-b', 'main')
  expect((await sstash(['team', 'init', '--as', 'alice', '--scope', 'dev=dev/', '--scope', 'prod=prod/'])).code).toBe(0)
  expect((await sstash(['team', 'add', 'bob', '--key', bob.recipient, '--scope', 'dev'])).code).toBe(0)
  expect((await sstash(['team', 'git-setup'])).code).toBe(0)
  for (const key of ['dev/shared', 'dev/gone', 'prod/db']) await sstash(['set', key], 'base')
  await git('add', '-A')
  await git('commit', '-qm', 'base')
  await git('checkout', '-qb', 'other')
  await runBin('sstash', [...S, 'set', 'dev/shared'], { cwd: repo, env: { ...env, ...(sharedBy === 'bob' ? bobEnv(bob.key, home) : {}) }, input: theirsShared })
  await sstash(['set', 'prod/db'], 'theirs-prod')
  await sstash(['rm', 'dev/gone'])
  await git('commit', '-qam', 'their change')
  await git('checkout', '-q', 'main')
  for (const args of thenOnOurs) expect((await sstash(args)).code).toBe(0)
  await sstash(['set', 'dev/shared'], 'ours-secret')
  await sstash(['set', 'prod/db'], 'ours-prod')
  await sstash(['set', 'dev/gone'], 'ours-gone')
  await git('commit', '-qam', 'our change')
  expect((await git('merge', '-q', 'other', '-m', 'merge')).code).not.toBe(0)
  /** Runs `sstash --stash secrets.sstash ...` on a fresh terminal; its stdout is the terminal's transcript. */
  const onTerminal = (args: string[], extra: Record<string, string> = {}): Promise<RunResult> =>
    runCommand('python3', [DRIVER, '[]', process.execPath, BIN.sstash, ...S, ...args], { cwd: repo, env: { ...env, ...extra }, timeoutMs: 30_000 })
  return { sstash, onTerminal, asBob: bobEnv(bob.key, home) }
}

/** bob is another clone's member: his own memory of the team, his own key. */
const bobEnv = (key: string, home: string): Record<string, string> => ({ SSTASH_IDENTITY_FILE: key, XDG_STATE_HOME: join(home, 'bob-state') })

describe.skipIf(!hasAge)('team resolve --show on a terminal', () => {
  it('prints both sides of one key path on a terminal, and none through a pipe', async () => {
    const { sstash, onTerminal } = await conflictedRepo()
    const tty = await onTerminal(['team', 'resolve', 'dev/shared', '--show'])
    expect(tty.code, tty.stdout).toBe(0)
    expect(tty.stdout).toContain('dev/shared\tours: set (scope dev)\ttheirs: set (scope dev)')
    expect(tty.stdout).toMatch(/ours is HEAD, last changed by alice, .*"our change"; theirs is MERGE_HEAD, last changed by alice, .*"their change"/)
    expect(tty.stdout).toContain('ours  : "ours-secret"\r\ntheirs: "theirs-secret"\r\n')
    // A key path removed on one side: that side says so.
    const gone = await onTerminal(['team', 'resolve', 'dev/gone', '--show'])
    expect(gone.stdout).toContain('ours  : "ours-gone"\r\ntheirs: (removed)\r\n')
    const piped = await sstash(['team', 'resolve', 'dev/shared', '--show'])
    expect(piped.code).toBe(0)
    expect(piped.stdout).toBe('dev/shared\tours: set (scope dev)\ttheirs: set (scope dev)\n')
    expect(piped.stderr).toContain('sstash: values are shown only on a terminal: run `sstash team resolve dev/shared --show` with stdout not piped or redirected')
    expect(piped.stdout + piped.stderr).not.toMatch(/secret/)
  })

  it('prints no value on a terminal for every key path at once, nor as JSON for one', async () => {
    const { onTerminal } = await conflictedRepo()
    const all = await onTerminal(['team', 'resolve', '--show'])
    expect(all.code, all.stdout).toBe(0)
    expect(all.stdout).toContain('dev/gone\tours: set (scope dev)\ttheirs: removed')
    expect(all.stdout).toContain('prod/db\tours: set (scope prod)\ttheirs: set (scope prod)')
    expect(all.stdout).toContain('to see both values of one key path, run `sstash team resolve <keypath> --show` on a terminal')
    const json = await onTerminal(['team', 'resolve', 'dev/shared', '--show', '--json'])
    expect(json.code, json.stdout).toBe(0)
    expect(json.stdout).toContain('"theirs": {')
    expect(all.stdout + json.stdout).not.toMatch(/secret|ours-|theirs-prod/)
  })

  it('says plainly which side a member cannot open, and shows the values of the scopes they hold', async () => {
    const { onTerminal, asBob } = await conflictedRepo()
    const prod = await onTerminal(['team', 'resolve', 'prod/db', '--show'], asBob)
    expect(prod.code, prod.stdout).toBe(0)
    expect(prod.stdout).toContain('ours  : (bob cannot open this side: it is in scope prod, which bob does not hold)\r\n')
    expect(prod.stdout).toContain('theirs: (bob cannot open this side: it is in scope prod, which bob does not hold)\r\n')
    expect(prod.stdout).not.toMatch(/ours-prod|theirs-prod/)
    const dev = await onTerminal(['team', 'resolve', 'dev/shared', '--show'], asBob)
    expect(dev.stdout).toContain('ours  : "ours-secret"\r\ntheirs: "theirs-secret"\r\n')
  })

  it('never opens a side set under an old key of its scope: the value a removed member set on their branch', async () => {
    // bob sets dev/shared on his branch; on ours alice removes him (dev's key rotates), then sets it.
    const { onTerminal } = await conflictedRepo('bob-was-here', { sharedBy: 'bob', thenOnOurs: [['team', 'rm', 'bob']] })
    const r = await onTerminal(['team', 'resolve', 'dev/shared', '--show'])
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).toContain('ours  : "ours-secret"\r\n')
    expect(r.stdout).toMatch(/theirs: \(alice cannot open this side: it was set under an old key of scope dev \(generation 1, the scope is at 2\), which a removed member holds too\)\r\n/)
    expect(r.stdout).not.toContain('bob-was-here')
  })

  it('shows a value planted with terminal escapes escaped, so the terminal never runs them', async () => {
    // A hostile committer's value that would retitle the window, clear the screen and hide text.
    const planted = 'x\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\nnext'
    const { onTerminal } = await conflictedRepo(planted)
    const r = await onTerminal(['team', 'resolve', 'dev/shared', '--show'])
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).toContain('theirs: "x\\u001b]0;pwned\\u0007\\u001b[2J\\u009b31m\\u202eevil\\nnext"\r\n')
    expect(r.stdout).not.toContain('\x1b]0;pwned')
    expect(r.stdout).not.toContain('\u202e')
  })
})
