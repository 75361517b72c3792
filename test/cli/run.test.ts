/**
 * `sstash-run` as a user runs it: the built binary in front of small fixture programs that
 * print their environment, exit with a code, die of a signal, wait for one, or echo stdin.
 */
import { execFileSync, spawn } from 'node:child_process'
import { chownSync, existsSync, lchownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN, ROOT, makeStash, otherUser, runBin, runCommand, tempDir, type RunResult } from '../helpers.js'

const dir = tempDir()
const PASSWORD = 'run test password'
const passwordFile = join(dir, 'password')
writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
const fixture = (name: string): string => join(ROOT, 'test/fixtures/run', name)
const NODE = process.execPath
let counter = 0

/** A stash holding `values`, and the environment that unlocks it. */
async function stashWith(values: Record<string, string | Uint8Array>): Promise<Record<string, string>> {
  const path = join(dir, `s${++counter}.sstash`)
  await makeStash(path, PASSWORD, values)
  return { SSTASH_FILE: path, SSTASH_PASSWORD_FILE: passwordFile }
}

const APP = {
  'project/myapp/DB/HOST': 'db.internal',
  'project/myapp/API_KEY': 'k-123',
  'project/myapp/s3.bucket/name': 'my bucket',
  'project/myapp/MULTI': 'line 1\nline 2 "quoted" $HOME',
  'project/myapp/http_proxy': 'http://proxy:3128',
  'project/myapp/nextAuthSecret': 'next-secret',
  'project/myapp/KEY-WITH-DASH': 'dashed',
  'project/myapp/my key': 'spaced',
  'project/shared/REGION': 'eu-west-1',
  'project/shared/API_KEY': 'shared key',
  'project/other/SECRET': 'not selected',
}

/** process.execve is there (Node >= 22.15): sstash-run becomes its command when it does not mask. */
const HAS_EXECVE = typeof (process as { execve?: unknown }).execve === 'function'

/** Makes a FIFO (Node has no mkfifo). */
const mkfifo = (path: string): void => {
  execFileSync('mkfifo', [path])
}

async function envOf(args: string[], env: Record<string, string | undefined>): Promise<Record<string, string>> {
  const result = await runBin('run', [...args, '--', NODE, fixture('print-env.mjs')], { env })
  expect(result.stderr).toBe('')
  expect(result.code).toBe(0)
  return JSON.parse(result.stdout) as Record<string, string>
}

/** Starts sstash-run and resolves once the child has printed `ready <pid>`. */
function startWaiting(args: string[], env: Record<string, string>): Promise<{ pid: number; childPid: number; done: Promise<RunResult> }> {
  const child = spawn(NODE, [BIN.run, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  const done = new Promise<RunResult>((resolve) => {
    child.on('close', (code, signal) => resolve({ stdout, stderr, code, signal }))
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  void done.then(() => clearTimeout(timer))
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      const ready = /ready (\d+)/.exec(stdout)
      if (ready) resolve({ pid: child.pid as number, childPid: Number(ready[1]), done })
    })
    void done.then((r) => reject(new Error(`sstash-run ended before the child was ready: ${r.stderr}`)))
  })
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // A zombie (state Z) has ended; only its new parent has not reaped it yet.
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z'
  } catch {
    return true
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (check()) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return check()
}

const hasSetpriv = ((): boolean => {
  try {
    return process.platform === 'linux' && execFileSync('setpriv', ['--help'], { encoding: 'utf8', timeout: 5000 }).includes('--pdeathsig')
  } catch {
    return false
  }
})()

describe('the variables a command gets', () => {
  it('keeps the name of a value right below the key path as written, and joins deeper key paths with _ in their own case', async () => {
    const env = await envOf(['-k', 'project/myapp'], await stashWith(APP))
    expect(env).toMatchObject({
      DB_HOST: 'db.internal',
      API_KEY: 'k-123',
      s3_bucket_name: 'my bucket',
      MULTI: 'line 1\nline 2 "quoted" $HOME',
      http_proxy: 'http://proxy:3128',
      nextAuthSecret: 'next-secret',
      'KEY-WITH-DASH': 'dashed',
      my_key: 'spaced',
    })
    for (const renamed of ['HTTP_PROXY', 'NEXTAUTHSECRET', 'KEY_WITH_DASH', 'SECRET', 'REGION']) expect(env[renamed]).toBeUndefined()
  })

  it('loads several subtrees, the later one winning on the same name', async () => {
    const unlock = await stashWith(APP)
    expect(await envOf(['-k', 'project/myapp', '--key', 'project/shared'], unlock)).toMatchObject({ API_KEY: 'shared key', REGION: 'eu-west-1', DB_HOST: 'db.internal' })
    expect(await envOf(['--key=project/shared', '-kproject/myapp'], unlock)).toMatchObject({ API_KEY: 'k-123', REGION: 'eu-west-1' })
  })

  it('prepends --prefix to every name', async () => {
    const env = await envOf(['-k', 'project/myapp', '--prefix', 'APP_'], await stashWith(APP))
    expect(env).toMatchObject({ APP_DB_HOST: 'db.internal', APP_API_KEY: 'k-123', APP_http_proxy: 'http://proxy:3128' })
    expect(env.DB_HOST).toBeUndefined()
  })

  it('lets the existing environment win, and the stash win with --override', async () => {
    const unlock = await stashWith(APP)
    expect((await envOf(['-k', 'project/myapp'], { ...unlock, DB_HOST: 'from the shell' })).DB_HOST).toBe('from the shell')
    expect((await envOf(['-k', 'project/myapp', '--override'], { ...unlock, DB_HOST: 'from the shell' })).DB_HOST).toBe('db.internal')
  })

  it('removes the variables that carry the stash password', async () => {
    const unlock = await stashWith(APP)
    const env = await envOf(['-k', 'project/myapp'], { ...unlock, SSTASH_PASSWORD: PASSWORD, SSTASH_ASKPASS: '/bin/false', SSTASH_NEW_PASSWORD: 'new', SSTASH_NEW_PASSWORD_FILE: '/nowhere', SSTASH_IDENTITY: 'AGE-SECRET-KEY-1X', SSTASH_IDENTITY_FILE: '/nowhere', KEEP_ME: 'yes' })
    expect(env.SSTASH_PASSWORD).toBeUndefined()
    expect(env.SSTASH_PASSWORD_FILE).toBeUndefined()
    for (const name of ['SSTASH_ASKPASS', 'SSTASH_NEW_PASSWORD', 'SSTASH_NEW_PASSWORD_FILE', 'SSTASH_IDENTITY', 'SSTASH_IDENTITY_FILE']) expect(env[name]).toBeUndefined()
    expect(env.SSTASH_ASKPASS).toBeUndefined()
    expect(env.KEEP_ME).toBe('yes')
    expect(env.SSTASH_FILE).toBe(unlock.SSTASH_FILE)
  })

  it('passes the arguments after -- untouched', async () => {
    const args = ['-k', 'x', '--mask', '--', '$HOME', 'a b', '']
    const result = await runBin('run', ['-k', 'project/myapp', '--', NODE, fixture('print-args.mjs'), ...args], { env: await stashWith(APP) })
    expect(JSON.parse(result.stdout)).toEqual(args)
  })

  it('passes stdin through to the command', async () => {
    const input = 'line one\nsecond line\u00e9\n'
    const result = await runBin('run', ['-k', 'project/myapp', '--', NODE, fixture('echo-stdin.mjs')], { env: await stashWith(APP), input })
    expect(result.stdout).toBe(input)
    expect(result.code).toBe(0)
  })
})

describe('refusals, before the command starts', () => {
  it('refuses two key paths that give one name, naming both, and does not run the command', async () => {
    const unlock = await stashWith({ 'p/DB/HOST': 'a-value', 'p/DB_HOST': 'b-value' })
    const result = await runBin('run', ['-k', 'p', '--', NODE, fixture('print-env.mjs')], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    expect(result.stderr).toBe('sstash: error: keys p/DB/HOST and p/DB_HOST both give the variable DB_HOST\n')
  })

  it('names the key path of a value that cannot be a variable, never the value', async () => {
    const unlock = await stashWith({ 'p/bin': new Uint8Array([0x68, 0x75, 0x6e, 0x74, 0x65, 0x72, 0x32, 0x00]), 'p2/9lives': 'hunter3' })
    const nul = await runBin('run', ['-k', 'p', '--', NODE, fixture('print-env.mjs')], { env: unlock })
    expect(nul.code).toBe(1)
    expect(nul.stderr).toContain('p/bin')
    expect(nul.stderr).not.toContain('hunter2')
    const digit = await runBin('run', ['-k', 'p2', '--', NODE, fixture('print-env.mjs')], { env: unlock })
    expect(digit.code).toBe(1)
    expect(digit.stderr).toContain('p2/9lives')
    expect(digit.stderr).not.toContain('hunter3')
  })

  it('refuses LD_PRELOAD and NODE_OPTIONS unless allowed by name', async () => {
    const unlock = await stashWith({ 'p/LD_PRELOAD': '/tmp/evil.so', 'q/NODE_OPTIONS': '--require /tmp/evil.js' })
    const refused = await runBin('run', ['-k', 'p', '--', NODE, fixture('print-env.mjs')], { env: unlock })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^sstash: error: key p\/LD_PRELOAD gives the variable LD_PRELOAD, .*--allow LD_PRELOAD/)
    expect(refused.stderr).not.toContain('evil')
    const node = await runBin('run', ['-k', 'q', '--', NODE, fixture('print-env.mjs')], { env: unlock })
    expect(node.stderr).toContain('NODE_OPTIONS')
    expect(node.code).toBe(1)
    const allowed = await runBin('run', ['-k', 'p', '--allow', 'LD_PRELOAD', '--', 'sh', '-c', 'printf %s "$LD_PRELOAD"'], { env: unlock })
    expect(allowed.stdout).toBe('/tmp/evil.so')
  })

  it('refuses GIT_CONFIG_COUNT and its keys, so `git status` runs no core.fsmonitor command from the stash', async () => {
    const repo = join(dir, 'fsmonitor-repo')
    mkdirSync(repo)
    execFileSync('git', ['init', '-q', repo])
    const marker = join(dir, 'fsmonitor-ran')
    const unlock = await stashWith({ 'p/GIT_CONFIG_COUNT': '1', 'p/GIT_CONFIG_KEY_0': 'core.fsmonitor', 'p/GIT_CONFIG_VALUE_0': `touch ${marker}; false` })
    const git = ['--', 'git', '-C', repo, 'status', '--short']
    const refused = await runBin('run', ['-k', 'p', ...git], { env: unlock })
    expect(refused.code).toBe(1)
    expect(refused.stdout).toBe('')
    const lines = refused.stderr.split('\n').filter(Boolean)
    expect(lines.slice(0, 3).map((l) => /gives the variable (\S+),/.exec(l)?.[1])).toEqual(['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0'])
    expect(lines[0]).toContain("one of git's GIT_* variables")
    expect(existsSync(marker)).toBe(false)
    // The same values, allowed by name, do run the command: the refusal is what stopped it.
    const allowed = await runBin('run', ['-k', 'p', '--allow', 'GIT_CONFIG_COUNT,GIT_CONFIG_KEY_0', '--allow', 'GIT_CONFIG_VALUE_0', ...git], { env: unlock })
    expect(allowed.stderr).not.toContain('sstash:')
    expect(existsSync(marker)).toBe(true)
  })

  it('refuses npm_config_script_shell in the spelling npm reads, and HOME, by their families', async () => {
    const unlock = await stashWith({ 'p/npm_config_script_shell': '/tmp/evil', 'p/HOME': '/tmp/evil-home', 'p/PYTHONWARNINGS': 'ignore::evil.Warning' })
    const result = await runBin('run', ['-k', 'p', '--', 'true'], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('key p/npm_config_script_shell gives the variable npm_config_script_shell, one of Node.js')
    expect(result.stderr).toContain('key p/HOME gives the variable HOME')
    expect(result.stderr).toContain('key p/PYTHONWARNINGS gives the variable PYTHONWARNINGS')
    expect(result.stderr).not.toContain('evil')
  })

  it('reports every naming problem at once, each on its own line, then one hint', async () => {
    const unlock = await stashWith({ 'p/9lives': 'a', 'p/LD_PRELOAD': 'b', 'p/DB/HOST': 'c', 'p/DB_HOST': 'd', 'p/fine': 'e' })
    const result = await runBin('run', ['-k', 'p', '--', 'true'], { env: unlock })
    expect(result.code).toBe(1)
    expect(result.stderr.split('\n')).toEqual([
      'sstash: error: key p/9lives gives the variable name 9lives, which starts with a digit',
      "sstash: error: key p/LD_PRELOAD gives the variable LD_PRELOAD, one of the dynamic loader's variables, which can make programs run other code; pass --allow LD_PRELOAD to inject it anyway",
      'sstash: error: keys p/DB/HOST and p/DB_HOST both give the variable DB_HOST',
      'sstash: hint: a --prefix (or "prefix" in package.json) makes the name start with a letter; docs/RUN.md lists the refused families and why',
      '',
    ])
  })

  it('fails with exit 3 for a key path that is not in the stash', async () => {
    const result = await runBin('run', ['-k', 'project/nope', '--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP) })
    expect(result.code).toBe(3)
    expect(result.stderr).toBe('sstash: error: key project/nope was not found in the stash\nsstash: hint: `sstash ls project` lists what project holds\n')
  })

  it('fails with exit 4 for a wrong password, and exit 5 with no password source', async () => {
    const unlock = await stashWith(APP)
    const wrongFile = join(dir, 'wrong')
    writeFileSync(wrongFile, 'wrong', { mode: 0o600 })
    const wrong = await runBin('run', ['-k', 'project/myapp', '--', NODE, fixture('print-env.mjs')], { env: { ...unlock, SSTASH_PASSWORD_FILE: wrongFile } })
    expect(wrong.code).toBe(4)
    expect(wrong.stdout).toBe('')
    const none = await runBin('run', ['-k', 'project/myapp', '--', NODE, fixture('print-env.mjs')], { env: { SSTASH_FILE: unlock.SSTASH_FILE } })
    expect(none.code).toBe(5)
    expect(none.stderr).toMatch(/^sstash: error: no password/)
  })

  it('says so when the stash does not exist', async () => {
    const result = await runBin('run', ['-k', 'a', '--stash', join(dir, 'missing.sstash'), '--', 'true'], { env: { SSTASH_PASSWORD_FILE: passwordFile } })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`no stash at ${join(dir, 'missing.sstash')}`)
  })
})

describe('usage errors', () => {
  it.each([
    ['no arguments', []],
    ['a command without --', ['-k', 'project/myapp', 'node', 'server.js']],
    ['-- without a command', ['-k', 'project/myapp', '--']],
    ['an unknown option', ['--nope', '--', 'true']],
    ['-k without a value', ['-k']],
  ])('prints a usage hint and exits 2 for %s', async (_what, args) => {
    const result = await runBin('run', args, { env: await stashWith(APP) })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^sstash: error: .*\nsstash: hint: usage: sstash-run /)
  })

  it.each([
    [['-k', '--', 'true'], 'option -k needs a value'],
    [['--key', '--', 'true'], 'option --key needs a value'],
    [['-k'], 'option -k needs a value'],
    [['--mask=yes', '--', 'true'], 'option --mask takes no value'],
    [['-hx', '--', 'true'], 'unknown option -x'],
  ])('names the option in one line for %j: %s', async (args, message) => {
    const result = await runBin('run', args, { env: await stashWith(APP) })
    expect(result.code).toBe(2)
    expect(result.stderr.split('\n')[0]).toBe(`sstash: error: ${message}`)
  })

  it('reads -kVALUE, --key=VALUE and a value that starts with - as typed', async () => {
    const unlock = await stashWith({ '-x/A': 'dash', 'p/B': 'pee', 'q/C': 'queue' })
    const env = await envOf(['-kp', '--key=q', '-k', '-x'], unlock)
    expect([env.A, env.B, env.C]).toEqual(['dash', 'pee', 'queue'])
  })

  it('suggests -k for a key path given before --', async () => {
    const result = await runBin('run', ['project/myapp', '--', 'node', 'server.js'], { env: await stashWith(APP) })
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^sstash: error: project\/myapp is not an option: did you mean -k project\/myapp\?\nsstash: hint: usage: sstash-run /)
  })

  it('keeps option values exactly as typed', async () => {
    const unlock = await stashWith({ '007/TOKEN': 'zero-zero-seven', 'p/x': 'v' })
    const env = await envOf(['-k', '007', '--prefix=P007_'], unlock)
    expect(env.P007_TOKEN).toBe('zero-zero-seven')
  })

  it('asks for -k or a package.json selection when there is neither', async () => {
    const empty = join(dir, 'no-project')
    mkdirSync(empty)
    const result = await runBin('run', ['--', 'true'], { env: await stashWith(APP), cwd: empty })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('pass -k <keypath>')
  })

  it('prints help with --help', async () => {
    const result = await runBin('run', ['--help'])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('usage: sstash-run')
  })
})

describe('the selection in package.json', () => {
  it('comes from the nearest package.json with an "sstash" field, walking up from the working directory', async () => {
    const project = join(dir, 'project')
    mkdirSync(join(project, 'src/deep'), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'p', sstash: { keys: ['project/myapp', 'project/shared'], prefix: 'CFG_' } }))
    // A package.json without the field, nearer to the working directory, is passed over.
    writeFileSync(join(project, 'src/package.json'), JSON.stringify({ name: 'inner' }))
    const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd: join(project, 'src/deep') })
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toMatchObject({ CFG_DB_HOST: 'db.internal', CFG_API_KEY: 'shared key', CFG_REGION: 'eu-west-1' })
  })

  it('takes a stash path relative to the package.json', async () => {
    const project = join(dir, 'project-with-stash')
    mkdirSync(project)
    await makeStash(join(project, 'local.sstash'), PASSWORD, { 'a/token': 't' })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: 'a', stash: 'local.sstash' } }))
    const env = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: { SSTASH_PASSWORD_FILE: passwordFile }, cwd: project })
    expect(JSON.parse(env.stdout)).toMatchObject({ token: 't' })
  })

  it('is not read when -k is given', async () => {
    const project = join(dir, 'project-ignored')
    mkdirSync(project)
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: ['project/other'] } }))
    const env = await runBin('run', ['-k', 'project/shared', '--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd: project })
    expect(JSON.parse(env.stdout)).toMatchObject({ REGION: 'eu-west-1' })
    expect(JSON.parse(env.stdout).SECRET).toBeUndefined()
  })

  it('uses the workspace root’s field from a workspace package without one', async () => {
    const root = join(dir, 'monorepo')
    mkdirSync(join(root, '.git'), { recursive: true })
    mkdirSync(join(root, 'packages/app/src'), { recursive: true })
    writeFileSync(join(root, 'package.json'), JSON.stringify({ private: true, workspaces: ['packages/*'], sstash: { keys: ['project/myapp'] } }))
    writeFileSync(join(root, 'packages/app/package.json'), JSON.stringify({ name: 'app', scripts: { start: 'sstash-run -- node .' } }))
    const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd: join(root, 'packages/app/src') })
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toMatchObject({ DB_HOST: 'db.internal' })
  })

  it('stops at the root of the git repository', async () => {
    const outer = join(dir, 'outer')
    mkdirSync(join(outer, 'repo/.git'), { recursive: true })
    writeFileSync(join(outer, 'package.json'), JSON.stringify({ sstash: { keys: ['project/other'] } }))
    writeFileSync(join(outer, 'repo/package.json'), JSON.stringify({ name: 'repo' }))
    const result = await runBin('run', ['--', 'true'], { env: await stashWith(APP), cwd: join(outer, 'repo') })
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/^sstash: error: no key paths: pass -k <keypath>\n/)
  })

  it('passes over a FIFO named package.json, with a warning, instead of hanging', async () => {
    const project = join(dir, 'project-fifo')
    mkdirSync(join(project, 'sub'), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: ['project/myapp'] } }))
    mkfifo(join(project, 'sub/package.json'))
    const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd: join(project, 'sub'), timeoutMs: 10_000 })
    expect(result.signal).toBeNull()
    expect(result.stderr).toBe(`sstash: warning: ${join(project, 'sub/package.json')} is not a regular file: not read\n`)
    expect(JSON.parse(result.stdout)).toMatchObject({ DB_HOST: 'db.internal' })
  })

  describe.skipIf(!otherUser())('with another user on the machine', () => {
    const other = otherUser() as NonNullable<ReturnType<typeof otherUser>>
    /** Our project with the field, a world-writable directory in it (as /tmp is), and our working directory below that. */
    function layout(name: string): { shared: string; cwd: string } {
      const project = join(dir, name)
      const shared = join(project, 'shared')
      mkdirSync(join(shared, 'work'), { recursive: true })
      execFileSync('chmod', ['1777', shared])
      writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: ['project/myapp'] } }))
      return { shared, cwd: join(shared, 'work') }
    }
    const planted = JSON.stringify({ sstash: { keys: ['project/other'], allow: ['NODE_OPTIONS'], override: true } })

    it('never reads another user’s package.json: its keys, allow and override do not apply', async () => {
      const { shared, cwd } = layout('planted')
      writeFileSync(join(shared, 'package.json'), planted)
      chownSync(join(shared, 'package.json'), other.uid, other.gid)
      const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: { ...(await stashWith(APP)), DB_HOST: 'from the shell' }, cwd })
      expect(result.stderr).toBe(`sstash: warning: ${join(shared, 'package.json')} belongs to another user (uid ${other.uid}): not read\n`)
      const env = JSON.parse(result.stdout) as Record<string, string>
      expect(env.DB_HOST).toBe('from the shell')
      expect(env.SECRET).toBeUndefined()
    })

    it('never follows another user’s link to a package.json of ours', async () => {
      const { shared, cwd } = layout('planted-link')
      const ours = join(dir, 'planted-link-target.json')
      writeFileSync(ours, planted)
      symlinkSync(ours, join(shared, 'package.json'))
      lchownSync(join(shared, 'package.json'), other.uid, other.gid)
      const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd })
      expect(result.stderr).toBe(`sstash: warning: ${join(shared, 'package.json')} is a link that belongs to another user (uid ${other.uid}): not read\n`)
      expect(JSON.parse(result.stdout)).toMatchObject({ DB_HOST: 'db.internal' })
    })

    it('names another user’s package.json when it was the only one found, instead of pointing to warnings it never printed', async () => {
      const project = join(dir, 'planted-only')
      mkdirSync(join(project, '.git'), { recursive: true })
      execFileSync('chmod', ['1777', project])
      writeFileSync(join(project, 'package.json'), planted)
      chownSync(join(project, 'package.json'), other.uid, other.gid)
      const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd: project })
      expect(result.code).toBe(2)
      expect(result.stdout).toBe('')
      expect(result.stderr).toContain(`${join(project, 'package.json')} belongs to another user (uid ${other.uid}): not read\n`)
      expect(result.stderr).not.toContain('see the warnings')
      expect(result.stderr).toMatch(/^sstash: error: no key paths: pass -k <keypath>\n/)
    })

    it('does not hang on another user’s FIFO named package.json', async () => {
      const { shared, cwd } = layout('planted-fifo')
      mkfifo(join(shared, 'package.json'))
      chownSync(join(shared, 'package.json'), other.uid, other.gid)
      const result = await runBin('run', ['--', NODE, fixture('print-env.mjs')], { env: await stashWith(APP), cwd, timeoutMs: 10_000 })
      expect(result.signal).toBeNull()
      expect(result.stderr).toContain('not read')
      expect(JSON.parse(result.stdout)).toMatchObject({ DB_HOST: 'db.internal' })
    })
  })

  it('reports a malformed "sstash" field, naming the file', async () => {
    const project = join(dir, 'project-bad')
    mkdirSync(project)
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: [1] } }))
    const result = await runBin('run', ['--', 'true'], { env: await stashWith(APP), cwd: project })
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(`sstash: error: the "sstash" field of ${join(project, 'package.json')} has "keys" that is not a string or a list of strings\n`)
  })
})

// Both ways of starting the command: by execve where Node has it (sstash-run becomes the
// command), and by spawning, which --mask always takes.
const MODES = [
  { mode: 'exec', flags: [] as string[], skip: !HAS_EXECVE },
  { mode: 'spawn (--mask)', flags: ['--mask'], skip: false },
]

describe.each(MODES)('exit codes and signals: $mode', ({ mode, flags, skip }) => {
  const run = (args: string[], env: Record<string, string>): Promise<RunResult> => runBin('run', ['-k', 'project/myapp', ...flags, '--', ...args], { env })
  const exec = mode === 'exec'

  it.skipIf(skip).each([0, 1, 3, 42, 255])('exits with the command’s exit code %i', async (code) => {
    const result = await run([NODE, fixture('exit-with.mjs'), String(code)], await stashWith(APP))
    expect(result.code).toBe(code)
    expect(result.stderr).toBe('')
  })

  it.skipIf(skip)(exec ? 'keeps its pid: the command is sstash-run’s process' : 'runs the command as a child, with a pid of its own', async () => {
    const started = await startWaiting(['-k', 'project/myapp', ...flags, '--', NODE, fixture('wait-signal.mjs')], await stashWith(APP))
    expect(started.childPid === started.pid).toBe(exec)
    process.kill(started.childPid, 'SIGTERM')
    expect((await started.done).signal).toBe('SIGTERM')
  })

  it.skipIf(skip)('passes on no descriptor of its own, and stdout and stderr as blocking as they came', async () => {
    const list = (r: RunResult): string[] => r.stdout.split('\n').filter(Boolean).sort()
    // What ls sees when started directly: 0-2, the directory it reads, and whatever we inherited.
    const direct = await runCommand('ls', ['/proc/self/fd'])
    expect(list(await run(['ls', '/proc/self/fd'], await stashWith(APP)))).toEqual(list(direct))
    if (!exec) return
    // A warning is written first (a FIFO named package.json is passed over on the way up).
    const project = join(dir, 'project-flags')
    mkdirSync(join(project, 'sub'), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: ['project/myapp'] } }))
    mkfifo(join(project, 'sub/package.json'))
    const flags = await runBin('run', ['--', 'sh', '-c', 'grep flags /proc/self/fdinfo/1 /proc/self/fdinfo/2'], { env: await stashWith(APP), cwd: join(project, 'sub') })
    expect(flags.stderr).toContain('not read')
    const lines = flags.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    for (const line of lines) expect(Number.parseInt(line.split(/\s+/)[1] as string, 8) & 0o4000, line).toBe(0)
  })

  it.skipIf(skip)('dies of SIGPIPE when the command does, although Node ignores SIGPIPE', async () => {
    const result = await run(['sh', '-c', 'kill -s PIPE $$'], await stashWith(APP))
    expect(result.signal).toBe('SIGPIPE')
  })

  it.skipIf(skip)('gives the command SIGPIPE and SIGXFSZ at their default action, not ignored as Node has them', async () => {
    const result = await run(['sh', '-c', 'grep SigIgn /proc/self/status'], await stashWith(APP))
    // Bit 12 is SIGPIPE, bit 24 SIGXFSZ.
    expect(BigInt(`0x${result.stdout.split(/\s+/)[1]}`) & ((1n << 12n) | (1n << 24n))).toBe(0n)
  })

  it.skipIf(skip).each(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGKILL'] as const)('dies of %s when the command does', async (signal) => {
    const result = await run([NODE, fixture('kill-self.mjs'), signal], await stashWith(APP))
    expect(result.signal).toBe(signal)
    expect(result.code).toBeNull()
  })

  it.skipIf(skip).each([
    ['SIGSEGV', 139],
    ['SIGABRT', 134],
    ['SIGUSR1', 138],
  ] as const)(exec ? 'dies of %s itself: the signal is the command’s own' : 'exits 128+n instead of re-raising %s (no core dump of our memory, no inspector)', async (signal, code) => {
    // sh, not node: a node child would start its own inspector on SIGUSR1.
    const result = await run(['sh', '-c', `ulimit -c 0; kill -s ${signal.slice(3)} $$`], await stashWith(APP))
    if (exec) expect(result.signal).toBe(signal)
    else {
      expect(result.signal).toBeNull()
      expect(result.code).toBe(code)
    }
  })

  it.skipIf(skip).each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('forwards %s to the command and exits as it does', async (signal) => {
    const started = await startWaiting(['-k', 'project/myapp', ...flags, '--', NODE, fixture('wait-signal.mjs'), 'handle'], await stashWith(APP))
    process.kill(started.pid, signal)
    const result = await started.done
    expect(result.stdout).toContain(`got ${signal}`)
    expect(result.code).toBe(42)
  })

  it.skipIf(skip)('leaves no orphan when it is killed with SIGTERM', async () => {
    const started = await startWaiting(['-k', 'project/myapp', ...flags, '--', NODE, fixture('wait-signal.mjs')], await stashWith(APP))
    expect(isAlive(started.childPid)).toBe(true)
    process.kill(started.pid, 'SIGTERM')
    const result = await started.done
    expect(result.signal).toBe('SIGTERM')
    expect(isAlive(started.childPid)).toBe(false)
  })

  // SIGKILL cannot be caught, so nothing in sstash-run can forward it. On Linux the documented
  // remedy is the kernel's parent-death signal, set by setpriv in front of the command.
  it.skipIf(skip || !hasSetpriv)('leaves no orphan even when killed with SIGKILL, with setpriv --pdeathsig in front of the command', async () => {
    const started = await startWaiting(['-k', 'project/myapp', ...flags, '--', 'setpriv', '--pdeathsig', 'TERM', '--', NODE, fixture('wait-signal.mjs')], await stashWith(APP))
    process.kill(started.pid, 'SIGKILL')
    expect((await started.done).signal).toBe('SIGKILL')
    expect(await waitUntil(() => !isAlive(started.childPid), 5000)).toBe(true)
  })

  it.skipIf(skip)('exits 127 naming a command that is not on PATH', async () => {
    const result = await run(['sstash-no-such-command', 'arg'], await stashWith(APP))
    expect(result.code).toBe(127)
    expect(result.stderr).toBe('sstash: error: command not found: sstash-no-such-command\n')
  })

  it.skipIf(skip)('exits 127 for a path to nothing, and finds a program in a PATH directory of the child', async () => {
    const missing = await run([join(dir, 'no-such-file')], await stashWith(APP))
    expect(missing.code).toBe(127)
    expect(missing.stderr).toBe(`sstash: error: command not found: ${join(dir, 'no-such-file')}\n`)
    const bin = join(dir, `bin-${mode.slice(0, 4)}`)
    mkdirSync(bin)
    writeFileSync(join(bin, 'hello-sstash'), '#!/bin/sh\necho "hello $1"\n', { mode: 0o755 })
    const found = await runBin('run', ['-k', 'project/myapp', ...flags, '--', 'hello-sstash', 'there'], { env: { ...(await stashWith(APP)), PATH: `${bin}:${process.env.PATH}` } })
    expect(found.stdout).toBe('hello there\n')
  })

  it.skipIf(skip)('exits 126 for a file that is not executable, passing over it on PATH for one that is', async () => {
    const file = join(dir, `not-executable-${mode.slice(0, 4)}`)
    writeFileSync(file, 'echo hi\n', { mode: 0o644 })
    const result = await run([file], await stashWith(APP))
    expect(result.code).toBe(126)
    expect(result.stderr).toMatch(/^sstash: error: cannot execute /)
    const first = join(dir, `path1-${mode.slice(0, 4)}`)
    mkdirSync(first)
    writeFileSync(join(first, 'true'), 'exit 9\n', { mode: 0o644 })
    const passed = await runBin('run', ['-k', 'project/myapp', ...flags, '--', 'true'], { env: { ...(await stashWith(APP)), PATH: `${first}:${process.env.PATH}` } })
    expect(passed.code).toBe(0)
    const only = await runBin('run', ['-k', 'project/myapp', ...flags, '--', 'true'], { env: { ...(await stashWith(APP)), PATH: first } })
    expect(only.code).toBe(126)
  })

  it.skipIf(skip)('runs an executable script without #! through sh, as before', async () => {
    const file = join(dir, `no-shebang-${mode.slice(0, 4)}`)
    writeFileSync(file, 'echo "no shebang, ${#DB_HOST} characters"\n', { mode: 0o755 })
    const result = await run([file], await stashWith(APP))
    expect(result.stdout).toBe('no shebang, 11 characters\n')
    expect(result.code).toBe(0)
  })
})

describe('errors before the command starts, one line each', () => {
  const clean = (result: RunResult): void => {
    expect(result.stderr).not.toContain('internal error')
    expect(result.stderr).not.toMatch(/\n\s+at /)
  }

  it.each(MODES.map((m) => [m.mode, m.flags] as const))('reports a 140 KB value as too large for the environment (%s)', async (_mode, flags) => {
    const unlock = await stashWith({ 'p/BIG': 'x'.repeat(140_000) })
    const result = await runBin('run', ['-k', 'p', ...flags, '--', 'true'], { env: unlock })
    clean(result)
    expect(result.code).toBe(126)
    expect(result.stderr).toMatch(/^sstash: error: cannot start true: the argument list or environment is too large\nsstash: hint: the largest variable is BIG \(140000 bytes\)/)
  })

  it.each(MODES.map((m) => [m.mode, m.flags] as const))('reports a 5000-character command name as too long (%s)', async (_mode, flags) => {
    const result = await runBin('run', ['-k', 'project/myapp', ...flags, '--', 'a'.repeat(5000)], { env: await stashWith(APP) })
    clean(result)
    expect(result.code).toBe(126)
    expect(result.stderr).toBe(`sstash: error: cannot start ${'a'.repeat(77)}...: the name is too long\n`)
  })

  it('reports a deleted working directory when it must look for package.json, and runs with -k', async () => {
    const gone = join(dir, 'deleted-cwd')
    const script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    const unlock = await stashWith(APP)
    mkdirSync(gone)
    const walk = await runCommand('sh', ['-c', script, 'sh', gone, NODE, BIN.run, '--', 'true'], { env: unlock })
    clean(walk)
    expect(walk.code).toBe(1)
    expect(walk.stderr).toBe('sstash: error: cannot look for package.json from the working directory: no such file or directory\nsstash: hint: the directory was probably deleted: cd to the project again, or pass -k <keypath>\n')
    mkdirSync(gone)
    const keyed = await runCommand('sh', ['-c', script, 'sh', gone, NODE, BIN.run, '-k', 'project/myapp', '--', 'sh', '-c', 'echo "$DB_HOST"'], { env: unlock })
    expect(keyed.stdout).toBe('db.internal\n')
    expect(keyed.code).toBe(0)
  })
})

describe.skipIf(process.platform !== 'linux')('nohup', () => {
  /** sstash-run in front of `nohup sh`, which prints what it ignores, says ready, and outlives a HUP. */
  function startNohup(flags: string[], env: Record<string, string>): { child: ReturnType<typeof spawn>; output: () => string; done: Promise<number | null> } {
    const script = 'grep ^SigIgn: /proc/self/status; echo ready; sleep 1; echo survived'
    const child = spawn(NODE, [BIN.run, '-k', 'project/myapp', ...flags, '--', 'nohup', 'sh', '-c', script], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    return { child, output: () => out, done }
  }

  it.each([
    { path: 'without --mask', flags: [] as string[] },
    { path: 'with --mask', flags: ['--mask'] },
  ])('runs `nohup cmd` after -- with SIGHUP ignored, and a HUP to sstash-run $path does not end it', async ({ flags }) => {
    const env = await stashWith(APP)
    const { child, output, done } = startNohup(flags, env)
    for (let i = 0; i < 200 && !output().includes('ready'); i++) await new Promise((r) => setTimeout(r, 25))
    expect(output()).toContain('ready')
    const ignored = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(output())?.[1] ?? '0'}`)
    expect(ignored & 1n).toBe(1n)
    execFileSync('kill', ['-HUP', String(child.pid)])
    expect(await done).toBe(0)
    expect(output()).toContain('survived')
  })

  it.each([
    { path: 'on the path that may execve', flags: [] as string[] },
    { path: 'on the path that spawns (--mask)', flags: ['--mask'] },
  ])('passes on the SIGHUP that `nohup sstash-run` was started with, and outlives a HUP itself, $path', async ({ flags }) => {
    const env = await stashWith(APP)
    // The launcher itself, as a shell runs it: node's own start resets every signal, so only it can tell.
    const script = 'grep ^SigIgn: /proc/self/status; env | grep -c ^SSTASH_RUN_ || true; echo ready; sleep 1; echo survived'
    const path = `${dirname(NODE)}:${process.env.PATH ?? ''}`
    const child = spawn('nohup', [BIN.run, '-k', 'project/myapp', ...flags, '--', 'sh', '-c', script], { env: { PATH: path, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    for (let i = 0; i < 400 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 25))
    expect(out).toContain('ready')
    expect(BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(out)?.[1] ?? '0'}`) & 1n).toBe(1n)
    // The launcher's note never reaches the command.
    expect(out).toMatch(/^0$/m)
    execFileSync('kill', ['-HUP', String(child.pid)])
    expect(await done).toBe(0)
    expect(out).toContain('survived')
  })

  it('starts the command with the default SIGHUP when sstash-run was not started under nohup', async () => {
    const env = await stashWith(APP)
    const path = `${dirname(NODE)}:${process.env.PATH ?? ''}`
    const r = await runCommand(BIN.run, ['-k', 'project/myapp', '--', 'sh', '-c', 'grep ^SigIgn: /proc/self/status'], { env: { PATH: path, ...env } })
    expect(r.code).toBe(0)
    expect(BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(r.stdout)?.[1] ?? '0'}`) & 1n).toBe(0n)
  })
})

describe('--mask', () => {
  it('replaces the injected values with ***** on stdout and stderr, even split across writes', async () => {
    const unlock = await stashWith({ 'p/TOKEN': 'sk-live-abcdef123456', 'p/other': 'zzz-unused' })
    const result = await runBin('run', ['-k', 'p', '--mask', '--', NODE, fixture('print-slowly.mjs'), 'TOKEN'], { env: unlock })
    expect(result.stdout).toBe('out: ***** end\n')
    expect(result.stderr).toBe('err: ***** end\n')
    expect(result.code).toBe(0)
  })

  it('keeps the exit code and the signal of the command', async () => {
    const unlock = await stashWith(APP)
    expect((await runBin('run', ['-k', 'project/myapp', '--mask', '--', NODE, fixture('exit-with.mjs'), '9'], { env: unlock })).code).toBe(9)
    expect((await runBin('run', ['-k', 'project/myapp', '--mask', '--', NODE, fixture('kill-self.mjs'), 'SIGTERM'], { env: unlock })).signal).toBe('SIGTERM')
  })

  it('does not mask a value the command did not get from the stash', async () => {
    const unlock = await stashWith({ 'p/GREETING': 'stash-greeting-value' })
    const result = await runBin('run', ['-k', 'p', '--mask', '--', 'sh', '-c', 'printf %s "$GREETING"'], { env: { ...unlock, GREETING: 'hello visible' } })
    expect(result.stdout).toBe('hello visible')
  })
})

describe('--mask, against the ways a value leaks', () => {
  const PEM = '-----BEGIN PRIVATE KEY-----\nMIIBVQIBADANBgkqhkiG9w0BAQEFAASCAT8wggE7AgEAAkEA\nq9fL0rX2pJmQw7ZrS4uTnB8vYcK3\n-----END PRIVATE KEY-----'
  const printer = [
    'const v = process.env.PEM',
    'console.log(JSON.stringify({ config: { key: v } }))',
    "console.log(require('node:util').inspect({ key: v }))",
    "process.stdout.write(v.replace(/\\n/g, '\\r\\n') + '\\n')",
  ].join('\n')

  it('hides each line of a PEM key printed with JSON.stringify, util.inspect and CRLF line ends', async () => {
    const result = await runBin('run', ['-k', 'p', '--mask', '--', NODE, '-e', printer], { env: await stashWith({ 'p/PEM': PEM }) })
    expect(result.code).toBe(0)
    for (const line of PEM.split('\n')) expect(result.stdout).not.toContain(line)
    expect(result.stdout).toContain('*****')
  })

  it('hides a PEM key printed with Python’s repr', async () => {
    const result = await runBin('run', ['-k', 'p', '--mask', '--', 'python3', '-c', 'import os; print(repr(os.environ["PEM"])); print({"k": os.environ["PEM"]})'], { env: await stashWith({ 'p/PEM': PEM }) })
    if (result.code === 127) return
    for (const line of PEM.split('\n')) expect(result.stdout).not.toContain(line)
  })

  it('hides a value split between stdout and stderr when both go to one place', async () => {
    const split = "const v = process.env.TOKEN; process.stdout.write('a ' + v.slice(0, 9)); setTimeout(() => process.stderr.write(v.slice(9) + ' b\\n'), 50)"
    const unlock = await stashWith({ 'p/TOKEN': 'sk-live-0123456789abcdef' })
    const together = await runCommand('sh', ['-c', 'exec "$@" 2>&1', 'sh', NODE, BIN.run, '-k', 'p', '--mask', '--', NODE, '-e', split], { env: unlock })
    expect(together.stdout).toBe('a ***** b\n')
  })

  it('does not mask values shorter than six characters', async () => {
    const unlock = await stashWith({ 'p/PORT': '1', 'p/DEBUG': 'yes', 'p/NAME': 'abcde', 'p/SIX': 'abcdef' })
    const result = await runBin('run', ['-k', 'p', '--mask', '--', 'sh', '-c', 'echo "port $PORT, debug $DEBUG, $NAME, $SIX"'], { env: unlock })
    expect(result.stdout).toBe('port 1, debug yes, abcde, *****\n')
  })

  it('ends when the command exits, though a background process keeps its output open', async () => {
    const started = Date.now()
    const result = await runBin('run', ['-k', 'project/myapp', '--mask', '--', 'sh', '-c', 'echo before; sleep 4 & exit 3'], { env: await stashWith(APP) })
    expect(Date.now() - started).toBeLessThan(3500)
    expect(result.code).toBe(3)
    expect(result.stdout).toBe('before\n')
  })

  it('masks 200 values in 2 MB of output in linear time', async () => {
    const values = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`p/V${i}`, `value-${i}-${'q'.repeat(i % 40)}-x`]))
    values['p/SHORT'] = 'ab'
    const line = `ab lorem ${values['p/V7']} ipsum ${values['p/V199']} dolor sit amet\\n`
    const print = `const line = ${JSON.stringify(line)}.replace('\\\\n', '\\n'); process.stdout.write(line.repeat(Math.ceil(2e6 / line.length)))`
    const started = Date.now()
    const result = await runBin('run', ['-k', 'p', '--mask', '--', NODE, '-e', print], { env: await stashWith(values), timeoutMs: 30_000 })
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(result.code).toBe(0)
    expect(result.stdout).not.toContain('value-7-')
    expect(result.stdout.startsWith('ab lorem ***** ipsum ***** dolor sit amet\n')).toBe(true)
  })
})
