/**
 * sstash under a real direnv (Debian's `direnv` package): `direnv allow`, then `direnv export
 * json` as a shell runs it at each prompt, with the changes it prints applied to the next
 * prompt's environment, so that a watched file's change reloads the .envrc as in a terminal.
 * Each test has its own HOME and XDG directories (direnv keeps its allow list there).
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, makeStash, runBin, runCommand, tempDir } from '../helpers.js'

const hasDirenv = spawnSync('direnv', ['version'], { encoding: 'utf8' }).status === 0

type Env = Record<string, string | undefined>

const root = tempDir()
let counter = 0

/** A project directory, a private HOME, and `sstash` on PATH as a user has it. */
function workspace(): { project: string; shell: Env } {
  const base = join(root, `case-${++counter}`)
  const home = join(base, 'home')
  const project = join(base, 'project')
  const bin = join(base, 'bin')
  for (const d of [home, project, bin]) mkdirSync(d, { recursive: true, mode: 0o700 })
  writeFileSync(join(bin, 'sstash'), `#!/bin/sh\nexec "${process.execPath}" "${BIN.sstash}" "$@"\n`, { mode: 0o755 })
  const shell: Env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local/share'),
    XDG_CACHE_HOME: join(home, '.cache'),
    PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    DIRENV_LOG_FORMAT: '',
    // Nothing of a direnv the tests themselves might run under.
    DIRENV_DIR: undefined,
    DIRENV_FILE: undefined,
    DIRENV_DIFF: undefined,
    DIRENV_WATCHES: undefined,
  }
  return { project, shell }
}

/** A stash beside the project holding `values`, and the prompt's environment that opens it (SSTASH_FILE, SSTASH_PASSWORD_FILE). */
async function withStash(project: string, shell: Env, values: Record<string, string>): Promise<Env> {
  const stash = join(project, '..', 'test.sstash')
  await makeStash(stash, 'direnv password', values)
  writeFileSync(join(project, '..', 'password'), 'direnv password\n', { mode: 0o600 })
  return { ...shell, SSTASH_FILE: stash, SSTASH_PASSWORD_FILE: join(project, '..', 'password') }
}

/** Puts `use sstash`, as `sstash direnv-hook` prints it, in this HOME's direnv lib directory. */
async function installHook(shell: Env): Promise<void> {
  const lib = join(shell.XDG_CONFIG_HOME as string, 'direnv', 'lib')
  mkdirSync(lib, { recursive: true })
  const hook = await runBin('sstash', ['direnv-hook'])
  expect(hook).toMatchObject({ code: 0, stderr: '' })
  writeFileSync(join(lib, 'use_sstash.sh'), hook.stdout)
}

async function allow(project: string, shell: Env): Promise<void> {
  const run = await runCommand('direnv', ['allow', project], { cwd: project, env: shell })
  expect(run).toMatchObject({ code: 0, stderr: '' })
}

/**
 * One shell prompt in `cwd`: what direnv's hook does. Returns the variables direnv changed
 * (null: unset) and the environment of the next prompt.
 */
async function prompt(cwd: string, shell: Env): Promise<{ changed: Record<string, string | null>; shell: Env; stderr: string; code: number | null }> {
  const run = await runCommand('direnv', ['export', 'json'], { cwd, env: shell })
  const changed = (run.stdout.trim() === '' ? {} : JSON.parse(run.stdout)) as Record<string, string | null>
  const next: Env = { ...shell }
  for (const [name, value] of Object.entries(changed)) next[name] = value ?? undefined
  return { changed, shell: next, stderr: run.stderr, code: run.code }
}

/** The changes without direnv's own bookkeeping variables. */
const ours = (changed: Record<string, string | null>): Record<string, string | null> =>
  Object.fromEntries(Object.entries(changed).filter(([name]) => !name.startsWith('DIRENV_')))

/** Changes a watched file so that direnv sees it changed (it compares modification times in seconds). */
function edit(path: string, text: string): void {
  const before = statSync(path).mtimeMs / 1000
  writeFileSync(path, text)
  utimesSync(path, before + 10, before + 10)
}

describe.skipIf(!hasDirenv)('direnv', () => {
  it('loads an .envrc, keeps quiet while nothing changes, and reloads when a watched file changes', async () => {
    const { project, shell } = workspace()
    writeFileSync(join(project, 'config.txt'), 'hello\n')
    writeFileSync(join(project, '.envrc'), 'watch_file config.txt\nexport GREETING="$(cat config.txt)"\n')
    await allow(project, shell)
    const first = await prompt(project, shell)
    expect(ours(first.changed)).toEqual({ GREETING: 'hello' })
    const idle = await prompt(project, first.shell)
    expect(idle.changed).toEqual({})
    edit(join(project, 'config.txt'), 'bonjour\n')
    const reloaded = await prompt(project, idle.shell)
    expect(ours(reloaded.changed)).toEqual({ GREETING: 'bonjour' })
    // Leaving the directory unloads it.
    const left = await prompt(root, reloaded.shell)
    expect(ours(left.changed)).toEqual({ GREETING: null })
  })

  it('runs a command with the .envrc loaded through direnv exec', async () => {
    const { project, shell } = workspace()
    writeFileSync(join(project, '.envrc'), "export PORT=3000\n")
    await allow(project, shell)
    const run = await runCommand('direnv', ['exec', project, 'sh', '-c', 'printf %s "$PORT"'], { cwd: root, env: shell })
    expect(run).toMatchObject({ code: 0, stdout: '3000' })
  })

  it('resolves .env.sstash through sstash export --env-file in a hand-written .envrc, and reloads when the file changes', async () => {
    const { project, shell } = workspace()
    const unlock = await withStash(project, shell, { 'project/db/URL': 'postgres://db', 'project/api/TOKEN': 'tok-1' })
    writeFileSync(join(project, '.env.sstash'), 'PORT=3000\nDATABASE_URL=sstash://project/db/URL\n')
    writeFileSync(join(project, '.envrc'), 'watch_file .env.sstash\neval "$(sstash export --env-file .env.sstash --format shell)"\n')
    await allow(project, unlock)
    const first = await prompt(project, unlock)
    expect(ours(first.changed)).toEqual({ PORT: '3000', DATABASE_URL: 'postgres://db' })
    edit(join(project, '.env.sstash'), 'PORT=4000\nDATABASE_URL=sstash://project/db/URL\nAPI_TOKEN="sstash://project/api/TOKEN"\n')
    const reloaded = await prompt(project, first.shell)
    expect(ours(reloaded.changed)).toEqual({ PORT: '4000', API_TOKEN: 'tok-1' })
    // An unresolved reference is named on stderr, where direnv shows it; its value never appears.
    edit(join(project, '.env.sstash'), 'PORT=4000\nDATABASE_URL=sstash://project/db/NOPE\n')
    const broken = await prompt(project, reloaded.shell)
    expect(broken.stderr).toContain('sstash: error: .env.sstash: DATABASE_URL: sstash://project/db/NOPE was not found in the stash')
    expect(broken.stderr).not.toContain('postgres://db')
  })

  it('loads .env.sstash with `use sstash` from sstash direnv-hook, reloads on an edit, and names what is missing', async () => {
    const { project, shell } = workspace()
    await installHook(shell)
    const unlock = await withStash(project, shell, { 'project/db/URL': 'postgres://db', 'project/api/TOKEN': "tok 'quoted' $HOME" })
    writeFileSync(join(project, '.env.sstash'), 'PORT=3000\nDATABASE_URL=sstash://project/db/URL\n')
    writeFileSync(join(project, '.envrc'), 'use sstash\n')
    await allow(project, unlock)
    const first = await prompt(project, unlock)
    expect(ours(first.changed)).toEqual({ PORT: '3000', DATABASE_URL: 'postgres://db' })
    expect((await prompt(project, first.shell)).changed).toEqual({})
    edit(join(project, '.env.sstash'), 'PORT=4000\nDATABASE_URL=sstash://project/db/URL\nAPI_TOKEN=sstash://project/api/TOKEN\n')
    const reloaded = await prompt(project, first.shell)
    expect(ours(reloaded.changed)).toEqual({ PORT: '4000', API_TOKEN: "tok 'quoted' $HOME" })
    edit(join(project, '.env.sstash'), 'PORT=4000\nDATABASE_URL=sstash://project/db/NOPE\n')
    const broken = await prompt(project, reloaded.shell)
    expect(broken.stderr).toContain('sstash: error: .env.sstash: DATABASE_URL: sstash://project/db/NOPE was not found in the stash')
    expect(broken.stderr).not.toContain('postgres://db')
  })

  it('loads a subtree with `use sstash -k`, named as sstash-run names it', async () => {
    const { project, shell } = workspace()
    await installHook(shell)
    const unlock = await withStash(project, shell, { 'project/myapp/API_TOKEN': 'tok-k', 'project/myapp/DB/HOST': 'db.internal' })
    writeFileSync(join(project, '.envrc'), 'use sstash -k project/myapp\n')
    await allow(project, unlock)
    expect(ours((await prompt(project, unlock)).changed)).toEqual({ API_TOKEN: 'tok-k', DB_HOST: 'db.internal' })
  })
})
