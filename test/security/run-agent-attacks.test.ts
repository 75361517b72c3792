/**
 * Attacks on the small first half of `sstash-run` (src/cli/run-agent.ts), which runs the whole
 * line with a read that only asks the agent and hands anything else to the full bundle
 * (src/cli/sstash-run.ts). What the first half gives a command must never differ from what the
 * stash opened without the agent gives it, nor be more than the full path would give: the same
 * environment, output, codes and messages, each error and warning printed once; no value from
 * a socket another user could plant, from a file swapped in, or from an unsafe reference file;
 * no refused name; no password variable; no hang; ignored signals passed on, on both paths.
 * Real agent processes, real sockets, real files, the built binaries (and the /bin/sh launcher
 * where signals matter).
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, copyFileSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { encodeTree } from '../../src/tree/codec.js'
import {
  BIN,
  agentEnvs,
  agentRuntimeDir,
  makeStash,
  otherUser,
  runBin,
  runBundled,
  runCommand,
  tempDir,
  treeOf,
  withLooseAgentDir,
  type BundledResult,
} from '../helpers.js'

const PASSWORD = 'stash password'
const dir = tempDir()
const home = join(dir, 'home')
const stash = join(dir, 'values.sstash')
const other = join(dir, 'other.sstash')
const refs = join(dir, 'refs.env.sstash')
const runtime = agentRuntimeDir()
/** A second agent, for the tests that stop one (SIGSTOP): it holds the same stash. */
const stoppedRuntime = agentRuntimeDir()

type Env = Record<string, string | undefined>

const { common, withAgent, withoutAgent, unlock } = agentEnvs(home, runtime, PASSWORD, { SSTASH_FILE: stash })

/** The child's environment as `env` prints it, less what differs between the two runs by design. */
const PRINT_ENV = ['sh', '-c', 'env | grep -v -e ^XDG_RUNTIME_DIR= -e ^NODE_DEBUG= | sort']
const PRINT_TOKEN = ['sh', '-c', 'printf %s "$TOKEN"']

/** `sstash-run <args>` (node bin/sstash-run.cjs), and which bundles it loaded. */
const run = (args: string[], env: Env, cwd = home): Promise<BundledResult> => runBundled('run', args, { cwd, env, timeoutMs: 15_000 })

/** The same line with the stash unlocked in the agent and with no agent at all. */
async function both(args: string[], cwd?: string, extra: Env = {}): Promise<{ fast: BundledResult; slow: BundledResult }> {
  return { fast: await run(args, { ...withAgent, ...extra }, cwd), slow: await run(args, { ...withoutAgent(), ...extra }, cwd) }
}

/** What the user sees of a run: the bundles loaded are the one thing that may differ. */
const seen = ({ bundles: _, ...result }: BundledResult) => result

beforeAll(async () => {
  mkdirSync(home, { recursive: true })
  await makeStash(stash, PASSWORD, {
    'app/TOKEN': 'token-value',
    'app/db/host': 'db.internal',
    'pre/PRELOAD': '/tmp/evil.so',
    'opt/OPTIONS': '--require=/tmp/evil.js',
    'low/ld_preload': '/tmp/evil.so',
    'sec/SSTASH_PASSWORD': 'planted password',
    'sec2/SSTASH_RUN_SIGIGN': 'ffffffff',
  })
  await makeStash(other, 'other password', { 'app/TOKEN': 'other-stash-value' })
  writeFileSync(refs, 'API_TOKEN=sstash://app/TOKEN\nPLAIN=plain value\n')
  await unlock(stash)
  await unlock(stash, stoppedRuntime)
})

/** A socket at `socketPath` that answers every request with a tree holding app/TOKEN=planted: what a planted agent would say. */
async function plantedAgent(socketPath: string): Promise<{ server: Server; asked: () => number }> {
  const tree = Buffer.from(encodeTree(treeOf({ 'app/TOKEN': 'planted' }))).toString('base64')
  let asked = 0
  const server = createServer((connection) => {
    let text = ''
    connection.on('error', () => {})
    connection.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
      if (!text.includes('\n')) return
      asked++
      connection.end(`${JSON.stringify({ ok: true, found: true, held: true, tree })}\n`)
    })
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  return { server, asked: () => asked }
}

describe('sstash-run through the agent, attacked', () => {
  it('never takes values from a planted agent: a directory of another user, a parent others can write, a symlinked directory', async () => {
    // The control: the same planted answer in a directory that passes the checks is believed
    // (any process running as you may pose as your agent, docs/AGENT.md): so the fake works.
    const safe = tempDir()
    mkdirSync(join(safe, 'sstash'), { mode: 0o700 })
    chmodSync(join(safe, 'sstash'), 0o700)
    const fake = await plantedAgent(join(safe, 'sstash', 'agent.sock'))
    try {
      const control = await run(['-k', 'app', '--', ...PRINT_TOKEN], { ...common, XDG_RUNTIME_DIR: safe, SSTASH_PASSWORD: PASSWORD })
      expect(control).toMatchObject({ code: 0, stdout: 'planted', bundles: ['sstash-run-agent'] })
      const before = fake.asked()

      const runtimes: string[] = []
      // Its parent open to everyone, not sticky: anyone could rename the directory and put theirs.
      const loose = tempDir()
      chmodSync(loose, 0o777)
      mkdirSync(join(loose, 'sstash'), { mode: 0o700 })
      chmodSync(join(loose, 'sstash'), 0o700)
      runtimes.push(loose)
      // The agent directory a symbolic link to the planted one.
      const linked = tempDir()
      symlinkSync(join(safe, 'sstash'), join(linked, 'sstash'))
      runtimes.push(linked)
      const servers: Server[] = [(await plantedAgent(join(loose, 'sstash', 'agent.sock'))).server]
      // The directory made first by another user (mode 0700, theirs), a socket in it.
      const user = otherUser()
      if (user) {
        const theirs = tempDir()
        chmodSync(theirs, 0o755)
        mkdirSync(join(theirs, 'sstash'), { mode: 0o700 })
        chmodSync(join(theirs, 'sstash'), 0o700)
        servers.push((await plantedAgent(join(theirs, 'sstash', 'agent.sock'))).server)
        chownSync(join(theirs, 'sstash'), user.uid, user.gid)
        runtimes.push(theirs)
      }
      try {
        for (const where of runtimes) {
          const result = await run(['-k', 'app', '--env-file', refs, '--', 'sh', '-c', 'printf "%s %s" "$TOKEN" "$API_TOKEN"'], { ...common, XDG_RUNTIME_DIR: where, SSTASH_PASSWORD: PASSWORD })
          expect({ where, ...result }).toMatchObject({ where, code: 0, stdout: 'token-value token-value', bundles: ['sstash-run', 'sstash-run-agent'] })
          // Warned once, by the second half; the first half printed nothing.
          expect(result.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^sstash: warning: not using the agent: refusing the agent directory /)])
        }
        expect(fake.asked()).toBe(before)
      } finally {
        for (const server of servers) server.close()
      }
    } finally {
      fake.server.close()
    }
  })

  it('refuses what is swapped in at the held stash path (a symlink to another stash, a team stash) as the stash opened without the agent does', async () => {
    const held = join(dir, 'swap.sstash')
    copyFileSync(stash, held)
    await unlock(held)
    const args = ['--stash', held, '--env-file', refs, '-k', 'app', '--', ...PRINT_TOKEN]
    expect((await run(args, withAgent)).stdout).toBe('token-value')
    // A symbolic link to another stash where the held file was: the agent holds no key for it.
    renameSync(held, `${held}.bak`)
    symlinkSync(other, held)
    const viaLink = await both(args, undefined, { SSTASH_PASSWORD: PASSWORD })
    expect(viaLink.fast.stdout).toBe('')
    expect(viaLink.fast.code).not.toBe(0)
    expect(seen(viaLink.fast)).toEqual(seen(viaLink.slow))
    expect(viaLink.fast.bundles).toContain('sstash-run')
    // A team stash written at the held path: never asked of the agent, and opened as a team stash is.
    const team = join(dir, 'team.sstash')
    copyFileSync(stash, team)
    await unlock(team)
    writeFileSync(team, 'sstash-team/1\nnot really a team stash\n')
    const teamArgs = ['--stash', team, '-k', 'app', '--', ...PRINT_TOKEN]
    const asTeam = await both(teamArgs)
    expect(asTeam.fast.stdout).toBe('')
    expect(asTeam.fast.code).not.toBe(0)
    expect(seen(asTeam.fast)).toEqual(seen(asTeam.slow))
  })

  it('ends as the command ends, or fails to start it, with the codes and messages of a run without the agent', async () => {
    const notExecutable = join(dir, 'not-executable')
    writeFileSync(notExecutable, '#!/bin/sh\necho ran\n', { mode: 0o644 })
    const commands = [
      ['sh', '-c', 'printf "%s" "$TOKEN"; printf err >&2; exit 7'],
      ['sh', '-c', 'kill -TERM $$'],
      [notExecutable],
      [dir],
      ['./no-such-command'],
    ]
    for (const command of commands) {
      const { fast, slow } = await both(['-k', 'app', '--', ...command])
      expect({ command, ...seen(fast) }).toEqual({ command, ...seen(slow) })
      expect(fast.code).not.toBe(0)
      // The agent served the read: the first half started (or failed to start) the command itself.
      expect(fast.bundles).toEqual(['sstash-run-agent'])
    }
  })

  it('refuses a FIFO, /dev/zero, a directory and the agent socket as --stash at once, as without the agent', async () => {
    const fifo = join(dir, 'stash.fifo')
    execFileSync('mkfifo', [fifo])
    mkdirSync(join(dir, 'dir.sstash'))
    for (const path of [fifo, '/dev/zero', join(dir, 'dir.sstash'), join(runtime, 'sstash', 'agent.sock')]) {
      const started = Date.now()
      const { fast, slow } = await both(['--stash', path, '--env-file', refs, '--', ...PRINT_TOKEN])
      expect(Date.now() - started).toBeLessThan(4_000)
      expect(fast.code).not.toBe(0)
      expect(fast.stdout).toBe('')
      expect({ path, ...seen(fast) }).toEqual({ path, ...seen(slow) })
    }
  })

  it('refuses unsafe reference files (another user, world-writable, a link to one, a FIFO, a device, a directory) before any value, as without the agent', async () => {
    const files: string[] = []
    const open = join(dir, 'open.env.sstash')
    writeFileSync(open, 'API_TOKEN=sstash://app/TOKEN\n')
    chmodSync(open, 0o666)
    files.push(open)
    const link = join(dir, 'link.env.sstash')
    symlinkSync(open, link)
    files.push(link)
    const fifo = join(dir, 'refs.fifo')
    execFileSync('mkfifo', [fifo])
    files.push(fifo, '/dev/zero', dirname(refs))
    const user = otherUser()
    if (user) {
      const theirs = join(dir, 'theirs.env.sstash')
      writeFileSync(theirs, 'API_TOKEN=sstash://app/TOKEN\n')
      chownSync(theirs, user.uid, user.gid)
      files.push(theirs)
    }
    for (const file of files) {
      const started = Date.now()
      const { fast, slow } = await both(['--env-file', file, '--', 'sh', '-c', 'printf ran; printf %s "$API_TOKEN"'])
      expect(Date.now() - started).toBeLessThan(4_000)
      expect({ file, code: fast.code, stdout: fast.stdout }).toEqual({ file, code: expect.any(Number), stdout: '' })
      expect(fast.code).not.toBe(0)
      expect(fast.stderr).toMatch(/^sstash: error: /)
      expect({ file, ...seen(fast) }).toEqual({ file, ...seen(slow) })
    }
    // The same file named by package.json's "envFile" instead.
    const project = join(dir, 'open-project')
    mkdirSync(project)
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'p', sstash: { envFile: open } }))
    const { fast, slow } = await both(['--', 'sh', '-c', 'printf ran'], project)
    expect(fast.stdout).toBe('')
    expect(fast.code).not.toBe(0)
    expect(seen(fast)).toEqual(seen(slow))
  })

  it('refuses dangerous names from the stash and from reference files, whatever the case or prefix, as without the agent', async () => {
    const nodeOptions = join(dir, 'node-options.env.sstash')
    writeFileSync(nodeOptions, 'NODE_OPTIONS=--require=/tmp/evil.js\n')
    const ldPreload = join(dir, 'ld-preload.env.sstash')
    writeFileSync(ldPreload, 'LD_PRELOAD=sstash://app/TOKEN\n')
    const twoOfThem = join(dir, 'two.env.sstash')
    writeFileSync(twoOfThem, 'LD_PRELOAD=/tmp/evil.so\nNODE_OPTIONS=--require=/tmp/evil.js\n')
    const lines = [
      ['--prefix', 'LD_', '-k', 'pre'],
      ['--prefix', 'NODE_', '-k', 'opt'],
      ['-k', 'low'],
      ['-k', 'sec'],
      ['--override', '-k', 'sec2'],
      ['--env-file', nodeOptions],
      ['--env-file', ldPreload],
      // One name allowed does not allow the other.
      ['--allow', 'LD_PRELOAD', '--env-file', twoOfThem],
    ]
    for (const options of lines) {
      const { fast, slow } = await both([...options, '--', 'sh', '-c', 'printf ran; env | grep -i -e ld_preload -e node_options -e sstash_'])
      expect({ options, stdout: fast.stdout }).toEqual({ options, stdout: '' })
      expect(fast.code).not.toBe(0)
      expect(fast.stderr).toMatch(/^sstash: error: /)
      expect({ options, ...seen(fast) }).toEqual({ options, ...seen(slow) })
      expect(fast.bundles).toContain('sstash-run')
    }
  })

  it.skipIf(!otherUser())("prints the warning for another user's package.json once, and the agent directory's once, on both paths", async () => {
    const user = otherUser()!
    const workspace = join(dir, 'workspace')
    const pkg = join(workspace, 'pkg')
    mkdirSync(pkg, { recursive: true })
    writeFileSync(join(workspace, 'package.json'), JSON.stringify({ name: 'ws', private: true, sstash: { keys: ['app'] } }))
    // Theirs, in our tree: it would choose our keys and allow LD_PRELOAD.
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'pkg', sstash: { keys: ['pre'], prefix: 'LD_', allow: ['LD_PRELOAD'] } }))
    chownSync(join(pkg, 'package.json'), user.uid, user.gid)
    const warning = `sstash: warning: ${join(pkg, 'package.json')} belongs to another user (uid ${user.uid}): not read`

    const { fast, slow } = await both(['--', ...PRINT_ENV], pkg)
    expect(seen(fast)).toEqual(seen(slow))
    expect(fast.code).toBe(0)
    expect(fast.stdout).toContain('TOKEN=token-value\n')
    expect(fast.stdout).not.toMatch(/LD_PRELOAD/)
    expect(fast.stderr.split('\n').filter(Boolean)).toEqual([warning])
    expect(fast.bundles).toEqual(['sstash-run-agent'])

    // The agent's directory loose too: the first half hands over; one line for each, no more.
    const loose = await withLooseAgentDir(runtime, () => run(['--', ...PRINT_ENV], { ...withAgent, SSTASH_PASSWORD: PASSWORD }, pkg))
    expect(loose.stdout).toBe(fast.stdout)
    expect(loose.code).toBe(0)
    const lines = loose.stderr.split('\n').filter(Boolean)
    expect(lines.filter((line) => line === warning)).toHaveLength(1)
    expect(lines.filter((line) => line.startsWith('sstash: warning: not using the agent: refusing the agent directory '))).toHaveLength(1)
    expect(lines).toHaveLength(2)
    expect(loose.bundles).toEqual(['sstash-run', 'sstash-run-agent'])
  })

  it('gives the command no password, identity or launcher variable, on either path', async () => {
    const passwordFile = join(dir, 'password.txt')
    writeFileSync(passwordFile, PASSWORD, { mode: 0o600 })
    const secrets: Env = {
      SSTASH_PASSWORD: PASSWORD,
      SSTASH_PASSWORD_FILE: passwordFile,
      SSTASH_ASKPASS: '/bin/false',
      SSTASH_NEW_PASSWORD: 'new password',
      SSTASH_NEW_PASSWORD_FILE: passwordFile,
      SSTASH_IDENTITY: 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ',
      SSTASH_IDENTITY_FILE: join(dir, 'no-such-identity'),
      SSTASH_RUN_SIGIGN: '1',
    }
    for (const args of [['-k', 'app'], ['--override', '--env-file', refs], ['--mask', '-k', 'app']]) {
      const { fast, slow } = await both([...args, '--', ...PRINT_ENV], undefined, secrets)
      expect(fast.code).toBe(0)
      expect(fast.bundles).toEqual(['sstash-run-agent'])
      expect(slow.bundles).toEqual(['sstash-run', 'sstash-run-agent'])
      expect(seen(fast)).toEqual(seen(slow))
      for (const result of [fast, slow]) {
        expect(result.stdout).toMatch(/TOKEN=(token-value|\*\*\*\*\*)\n/)
        expect(result.stdout).toContain(`SSTASH_FILE=${stash}\n`)
        expect(result.stdout).not.toMatch(/^SSTASH_(PASSWORD|PASSWORD_FILE|ASKPASS|NEW_PASSWORD|NEW_PASSWORD_FILE|IDENTITY|IDENTITY_FILE|RUN_SIGIGN)=/m)
      }
    }
  })

  it('passes on SIGHUP and SIGINT ignored (nohup through the /bin/sh launcher), and never the launcher note: agent serving, agent not holding the stash, no agent', async () => {
    const unheld = join(dir, 'unheld.sstash')
    copyFileSync(stash, unheld)
    // sh ignores INT, nohup ignores HUP, then exec the launcher itself (bin/sstash-run.cjs, #!/bin/sh).
    const launch = (args: string[], env: Env) =>
      runCommand('/bin/sh', ['-c', 'trap "" INT; exec nohup "$@"', 'sh', BIN.run, ...args], { cwd: home, env: { ...env, NODE_DEBUG: 'module' }, timeoutMs: 15_000 })
    const child = ['--', 'sh', '-c', 'grep ^SigIgn: /proc/self/status; env | grep ^SSTASH_ | sort; printf "%s\\n" "$TOKEN"']
    const cases: [string, string[], Env, string[]][] = [
      ['the agent serves', ['-k', 'app', ...child], withAgent, ['sstash-run-agent']],
      ['the agent does not hold it', ['--stash', unheld, '-k', 'app', ...child], { ...withAgent, SSTASH_PASSWORD: PASSWORD }, ['sstash-run', 'sstash-run-agent']],
      ['no agent', ['-k', 'app', ...child], withoutAgent(), ['sstash-run', 'sstash-run-agent']],
    ]
    for (const [name, args, env, bundles] of cases) {
      const result = await launch(args, env)
      const loaded = [...new Set([...result.stderr.matchAll(/dist\/bundle\/([a-z-]+)\.cjs/g)].map((m) => m[1]))].sort()
      expect({ name, loaded }).toEqual({ name, loaded: bundles })
      expect({ name, code: result.code, stderr: result.stderr.replace(/^MODULE \d+: .*\n/gm, '') }).toEqual({ name, code: 0, stderr: '' })
      const [sigign, ...rest] = result.stdout.split('\n')
      const mask = BigInt(`0x${sigign?.replace(/^SigIgn:\s*/, '')}`)
      expect({ name, hup: mask & 1n, int: (mask >> 1n) & 1n }).toEqual({ name, hup: 1n, int: 1n })
      expect({ name, rest }).toEqual({ name, rest: [`SSTASH_FILE=${stash}`, 'token-value', ''] })
    }
  })
})

describe('sstash-run with an agent that has stopped answering', () => {
  /** Runs `body` with the agent under stoppedRuntime stopped (SIGSTOP): it accepts connections and never answers. */
  async function withStoppedAgent<T>(body: (env: Env) => Promise<T>): Promise<T> {
    const status = await runBin('sstash', ['agent', 'status', '--json'], { env: { ...common, XDG_RUNTIME_DIR: stoppedRuntime } })
    const pid = (JSON.parse(status.stdout) as { pid: number }).pid
    expect(pid).toBeGreaterThan(1)
    process.kill(pid, 'SIGSTOP')
    try {
      return await body({ ...common, XDG_RUNTIME_DIR: stoppedRuntime })
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }

  it('waits for it once (3 s), then opens the stash itself and says what a run without the agent says', async () => {
    const passwordFile = join(dir, 'stopped-password.txt')
    writeFileSync(passwordFile, PASSWORD, { mode: 0o600 })
    const args = ['--env-file', refs, '-k', 'app', '--', ...PRINT_ENV]
    const slow = await run(args, { ...withoutAgent(), SSTASH_PASSWORD_FILE: passwordFile })
    await withStoppedAgent(async (env) => {
      const started = Date.now()
      const fast = await run(args, { ...env, SSTASH_PASSWORD_FILE: passwordFile })
      const elapsed = Date.now() - started
      expect(seen(fast)).toEqual(seen(slow))
      expect(fast.code).toBe(0)
      expect(elapsed).toBeGreaterThan(2_500)
      expect(elapsed).toBeLessThan(5_500)
    })
  })

  // Found by this file: with a password a person gives (SSTASH_ASKPASS, or the prompt), the
  // full half handed the key to the agent for SSTASH_AGENT_TIMEOUT after opening the stash,
  // although the read had found that this agent does not answer: giveAgent -> agentUnlock asked
  // it again and waited another 3 s (6.2 s in all). AgentSaid's `answered: false` now says so.
  it('waits for it once too when the password comes from SSTASH_ASKPASS: the key is not handed to an agent that did not answer', async () => {
    const askpass = join(dir, 'askpass.sh')
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${PASSWORD}'\n`, { mode: 0o700 })
    await withStoppedAgent(async (env) => {
      const started = Date.now()
      const result = await run(['-k', 'app', '--', ...PRINT_TOKEN], { ...env, SSTASH_ASKPASS: askpass })
      const elapsed = Date.now() - started
      expect(result).toMatchObject({ code: 0, stdout: 'token-value', stderr: '' })
      expect(elapsed).toBeLessThan(5_500)
    })
  })
})
