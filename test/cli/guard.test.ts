/**
 * `sstash guard` as a user runs it: fingerprints kept up to date by writes, stale ones reported,
 * the fingerprint files private and free of values, a team stash read in memory in CI, and bad
 * input refused in one line.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { agentRuntimeDir, makeStash, runBin, tempDir } from '../helpers.js'

const dir = tempDir()
const runtime = agentRuntimeDir()
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined
const TOKEN = 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'
const LATER = 'a-value-set-later-0123456789'
let n = 0

/** A user with a stash of their own and a folder to scan. */
async function user(values: Record<string, string> = { 'api/token': TOKEN }) {
  const home = join(dir, `user-${n++}`)
  mkdirSync(home)
  const env = { HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_DATA_HOME: join(home, 'data'), XDG_RUNTIME_DIR: runtime, SSTASH_FILE: join(home, 'stash.sstash'), SSTASH_PASSWORD: 'pw' }
  await makeStash(env.SSTASH_FILE, 'pw', values)
  const work = join(home, 'work')
  mkdirSync(work)
  const run = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) => runBin('sstash', args, { env: { ...env, ...extra }, cwd: work, input })
  return { home, env, work, run }
}

describe('sstash guard', () => {
  it('keeps the fingerprints up to date on every write once the guard is on, with no refresh', async () => {
    const { work, run } = await user()
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    writeFileSync(join(work, 'a.txt'), `later: ${LATER}\n`)
    expect((await run(['guard', 'scan', 'a.txt'])).code).toBe(0)
    expect((await run(['set', 'new/value'], {}, LATER)).code).toBe(0)
    const found = await run(['guard', 'scan', 'a.txt'], { SSTASH_PASSWORD: undefined })
    expect([found.code, found.stdout]).toEqual([1, 'a.txt:1: new/value\n'])
    expect(found.stderr).not.toContain('behind')
    // A new password rewrites the file, and the fingerprints follow.
    expect((await run(['passwd'], { SSTASH_NEW_PASSWORD: 'pw2' })).code).toBe(0)
    expect((await run(['guard', 'scan', 'a.txt'], { SSTASH_PASSWORD: undefined })).stderr).not.toContain('behind')
  })

  it('keeps them up to date when the agent does the write', async () => {
    const { work, run } = await user()
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    expect((await run(['unlock'])).code).toBe(0)
    expect((await run(['set', 'via/agent'], { SSTASH_PASSWORD: undefined }, LATER)).code).toBe(0)
    writeFileSync(join(work, 'b.txt'), `x\n${LATER}\n`)
    const found = await run(['guard', 'scan', 'b.txt'], { SSTASH_PASSWORD: undefined })
    expect(found.stdout).toBe('b.txt:2: via/agent\n')
    await run(['lock'])
  })

  it('says how far behind the fingerprints are when the stash was written elsewhere', async () => {
    const { env, run } = await user()
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    // This test process has no guard: its write is one sstash did not see.
    await makeStash(env.SSTASH_FILE, 'pw', { 'elsewhere/value': LATER })
    const scan = await run(['guard', 'scan'], { SSTASH_PASSWORD: undefined })
    expect(scan.stderr).toContain(`sstash: warning: fingerprints of ${env.SSTASH_FILE} are at least 1 write behind: \`sstash guard refresh\``)
  })

  it('says so, rather than finding nothing, when the fingerprints were made under another key', async () => {
    const { env, work, run } = await user()
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    writeFileSync(join(env.XDG_STATE_HOME, 'sstash', 'guard', 'key'), Buffer.alloc(32, 7), { mode: 0o600 })
    writeFileSync(join(work, 'a.txt'), `${TOKEN}\n`)
    const scan = await run(['guard', 'scan', 'a.txt'], { SSTASH_PASSWORD: undefined })
    expect(scan.stderr).toContain(`fingerprints of ${env.SSTASH_FILE} were made with another key or version of sstash, and are not used: \`sstash guard refresh\``)
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    expect((await run(['guard', 'scan', 'a.txt'])).stdout).toBe('a.txt:1: api/token\n')
  })

  it('keeps its key and fingerprints private (0700, 0600), holding no value and no form of one', async () => {
    const { env, run } = await user({ 'api/token': TOKEN, 'tls/key': '-----BEGIN KEY-----\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldY\n-----END KEY-----\n' })
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    const guardDir = join(env.XDG_STATE_HOME, 'sstash', 'guard')
    expect(statSync(guardDir).mode & 0o777).toBe(0o700)
    const files = readdirSync(guardDir)
    expect(files).toContain('key')
    for (const file of files) {
      expect(statSync(join(guardDir, file)).mode & 0o777).toBe(0o600)
      const text = readFileSync(join(guardDir, file)).toString('latin1')
      for (const secret of [TOKEN, Buffer.from(TOKEN).toString('base64').slice(0, 12), Buffer.from(TOKEN).toString('hex').slice(0, 12), 'QUJDREVGR0hJSktM']) expect(text).not.toContain(secret)
    }
  })

  it('warns and passes when there is nothing to look for', async () => {
    const { work, run } = await user()
    writeFileSync(join(work, 'a.txt'), `${TOKEN}\n`)
    const result = await run(['guard', 'scan'])
    expect([result.code, result.stdout]).toEqual([0, ''])
    expect(result.stderr).toContain('sstash: warning: no fingerprints to look for: run `sstash guard refresh`')
  })

  it('refuses bad input with one error line and its exit code', async () => {
    const { run } = await user()
    const table: [string[], RegExp][] = [
      [['guard', 'frob'], /^sstash: error: unknown guard action "frob"\n/],
      [['guard', 'scan', '--staged', '--history'], /^sstash: error: --staged, --history and --pre-push are different scans\n/],
      [['guard', 'scan', '--history', 'a', 'b'], /^sstash: error: --history takes one revision range\n/],
      [['guard', 'refresh', 'extra'], /^sstash: error: guard refresh takes no arguments\n/],
    ]
    for (const [args, message] of table) {
      const result = await run(args)
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.stderr).toMatch(message)
    }
    expect((await run(['guard', 'refresh'])).code).toBe(0)
    const missing = await run(['guard', 'scan', 'no-such-file'])
    expect([missing.code, missing.stderr.split('\n')[0]]).toEqual([1, 'sstash: error: cannot scan no-such-file: no such file or directory'])
    const outside = await run(['guard', 'scan', '--staged'], { GIT_CEILING_DIRECTORIES: dir })
    expect(outside.code).toBe(2)
    expect(outside.stderr).toMatch(/^sstash: error: not inside a git work tree\n/)
  })

  it.skipIf(!hasAge)('reads a team stash in memory with the identity in SSTASH_IDENTITY, as CI does, and writes nothing', async () => {
    const { home, work, run } = await user()
    const keyFile = join(home, 'age.key')
    spawnSync('age-keygen', ['-o', keyFile])
    const secret = readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1')) as string
    const team = join(home, 'team.sstash')
    const asMember = { SSTASH_FILE: team, SSTASH_IDENTITY: secret, SSTASH_PASSWORD: undefined, XDG_STATE_HOME: join(home, 'ci-state') }
    expect((await run(['team', 'init', '--as', 'ci'], asMember)).code).toBe(0)
    expect((await run(['set', 'prod/db/password'], asMember, 'team-value-0123456789')).code).toBe(0)
    writeFileSync(join(work, 'deploy.yaml'), 'password: team-value-0123456789\n')
    const found = await run(['guard', 'scan', 'deploy.yaml'], asMember)
    expect([found.code, found.stdout]).toEqual([1, 'deploy.yaml:1: prod/db/password\n'])
    expect(() => readdirSync(join(home, 'ci-state', 'sstash', 'guard'))).toThrow()

    // A member whose guard is on: a teammate's write (through git, or another clone) shows as writes behind.
    const member = { ...asMember, XDG_STATE_HOME: join(home, 'member-state') }
    expect((await run(['guard', 'refresh'], member)).stderr).toContain('fingerprinted 1 value')
    expect((await run(['set', 'prod/other'], asMember, 'another-team-value-42')).code).toBe(0)
    const stale = await run(['guard', 'scan', 'deploy.yaml'], { ...member, SSTASH_IDENTITY: undefined })
    expect(stale.stdout).toBe('deploy.yaml:1: prod/db/password\n')
    expect(stale.stderr).toContain(`fingerprints of ${team} are 1 write behind: \`sstash --stash ${team} guard refresh\``)
  })
})
