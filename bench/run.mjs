#!/usr/bin/env node
/**
 * `npm run bench`: times sstash's binaries against baselines and peers on this machine, on every
 * Node line CI tests (the system's Node, and 22, 24 and 26 installed as .ci/run installs them,
 * by scripts/node-lines.mjs), side by side in one run.
 *
 * Method: every group of commands runs side by side, on all the Nodes at once: a warm-up, then
 * rounds in which each command of the group runs once on each Node, in an order that rotates
 * every round, so that noise from the machine falls on all of them alike. We report, per Node,
 * the median and the 90th percentile of the wall time of each command (spawn to exit, as a user
 * waits for it), its ratio to `node -e 0` of the same Node, the milliseconds it adds over its
 * floor (`node -e 0`, or the row named as its floor), and its peak RSS (one extra run under
 * /usr/bin/time, else unknown). Markdown goes to stdout, JSON to bench/results/.
 *
 *   BENCH_QUICK=1       fewer rounds (a smoke run)
 *   BENCH_ROUNDS=n      exactly n rounds per group
 *   BENCH_ONLY=a,b      only the groups whose id starts with one of these
 *   BENCH_NODES=20,24   only these Node lines (`system` or 20 is the system's Node; default all)
 *   BENCH_AGAINST=dir   also runs every row of sstash's with the build in dir (a checkout of
 *                       another commit, built: its bin/ and dist/), as a row of its own marked
 *                       "before", in the same rounds: a before-and-after table from one run
 *
 * Every command runs in an environment of the bench's own (HOME, the XDG folders, PATH, LANG):
 * nothing else of the caller's is passed on, NODE_EXTRA_CA_CERTS above all (loading extra
 * certificates adds 30-50 ms to every Node start, and users do not have it set).
 *
 * The floors each row is read against are rows of their own: `node -e 0`; the agent floor, a
 * Node script that connects to the agent's socket, sends one request and prints the answer; the
 * crypto floor, the same with node:crypto loaded; the run floor, the agent floor for
 * sstash-run's read that then starts `true` as sstash-run does (execve, else spawn); the ssh-agent floor, a Node script that loads
 * node:crypto, asks the ssh-agent for one signature and derives a key (the floor of
 * an open by an enrolled ssh-agent key, `BENCH_ONLY=ssh-agent`).
 *
 * Each Node has its own agent (XDG_RUNTIME_DIR) and its own code cache (XDG_CACHE_HOME), and
 * comes first on PATH, so that git's helpers and `#!/usr/bin/env node` run it too. Nothing here
 * is a mock: real git, real agent sockets, real files, real peers from node_modules. The cheap KDF
 * is used except where a row says otherwise.
 */
import { spawnSync, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { cpus, tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { summarize, formatMs, markdownTable, plus } from './stats.mjs'
import { installNodeLine, NODE_LINES } from '../scripts/node-lines.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const QUICK = process.env.BENCH_QUICK === '1'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 5 : 25))
const WARMUP = QUICK ? 1 : 2
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)
const WANT_NODES = (process.env.BENCH_NODES ?? '').split(',').filter(Boolean)
const CHEAP_KDF = 'scrypt:N=1024,r=8,p=1'
const MID_KDF = { N: 2 ** 14, r: 8, p: 1 }
const PASSWORD = 'bench password'
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined

// Other work may rebuild dist/ while we measure: run a private copy of what was built.
const SNAP = mkdtempSync(join(tmpdir(), 'sstash-bench-build-'))
for (const part of ['dist', 'bin', 'package.json']) if (existsSync(join(ROOT, part))) cpSync(join(ROOT, part), join(SNAP, part), { recursive: true })
symlinkSync(join(ROOT, 'node_modules'), join(SNAP, 'node_modules'))
const shimDir = mkdtempSync(join(tmpdir(), 'sstash-bench-bin-'))
// bin/ runs the CommonJS bundles (scripts/bundle.mjs). For comparison, the "bundle" group also
// runs tsc's output unbundled (dist/cli/*.js, ES modules) through a two-line ES module shim.
function unbundled(name, entry) {
  const shim = join(shimDir, `${name}.mjs`)
  writeFileSync(shim, `#!/usr/bin/env node\nimport { main } from ${JSON.stringify(join(SNAP, 'dist/cli', entry))}\nawait main(process.argv.slice(2))\n`, { mode: 0o755 })
  return shim
}
const BIN = { sstash: join(SNAP, 'bin/sstash.cjs'), run: join(SNAP, 'bin/sstash-run.cjs'), git: join(SNAP, 'bin/git-credential-sstash.cjs') }
/** BENCH_AGAINST's build, copied as SNAP is: each path of BIN mapped to its twin there. */
const AGAINST = (() => {
  const other = process.env.BENCH_AGAINST
  if (!other) return undefined
  const copy = mkdtempSync(join(tmpdir(), 'sstash-bench-against-'))
  for (const part of ['dist', 'bin', 'package.json']) cpSync(join(resolve(other), part), join(copy, part), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'))
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: other, encoding: 'utf8' }).stdout.trim() || other
  return { copy, commit, bins: new Map(Object.values(BIN).map((path) => [path, path.replace(SNAP, copy)])) }
})()
const UNBUNDLED = { sstash: unbundled('sstash', 'sstash.js'), run: unbundled('sstash-run', 'sstash-run.js'), git: unbundled('git-credential-sstash', 'git-credential-sstash.js') }
for (const [name, path] of Object.entries(BIN)) if (!existsSync(path)) throw new Error(`bench: ${path} is missing (${name}); run npm run build`)

const peerBin = (pkg, bin) => {
  const json = JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'))
  const rel = typeof json.bin === 'string' ? json.bin : json.bin[bin]
  return { path: join(ROOT, 'node_modules', pkg, rel), version: json.version }
}

// --- a private playground: HOME, XDG dirs, git config and the agents all live here ------------

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sstash-bench-')))
const pathDir = join(dir, 'path')
mkdirSync(pathDir)
// git finds `git-credential-sstash` on PATH, as after `npm install -g`; and the floor helper,
// which only starts Node and prints the answer, with the same `#!/usr/bin/env node`.
symlinkSync(BIN.git, join(pathDir, 'git-credential-sstash'))

const baseEnv = {
  HOME: dir,
  XDG_CONFIG_HOME: join(dir, 'config'),
  XDG_DATA_HOME: join(dir, 'data'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C',
}

/** The Nodes to measure: the system's, then each line from the registry. */
function runtimes() {
  const wanted = (line) => WANT_NODES.length === 0 || WANT_NODES.includes(line)
  const found = []
  const system = { line: 'system', node: process.execPath, version: process.version }
  if (wanted('system') || wanted(process.versions.node.split('.')[0])) found.push(system)
  for (const line of NODE_LINES) {
    if (!wanted(line)) continue
    const installed = installNodeLine(line)
    // A system Node of the same release is measured once.
    if (!found.some((rt) => rt.version === installed.version)) found.push(installed)
  }
  if (found.length === 0) throw new Error(`bench: BENCH_NODES=${process.env.BENCH_NODES} names no Node to measure`)
  return found.map(({ node, version }) => {
    const id = version
    const runtime = join(dir, `run-${id}`)
    mkdirSync(runtime, { mode: 0o700 })
    const execve = spawnSync(node, ['-p', 'typeof process.execve'], { encoding: 'utf8' }).stdout.trim() === 'function'
    const env = { ...baseEnv, PATH: `${dirname(node)}:${pathDir}:${process.env.PATH}`, XDG_RUNTIME_DIR: runtime, XDG_CACHE_HOME: join(dir, `cache-${id}`) }
    return { id, node, version, execve, env }
  })
}
const RUNTIMES = runtimes()
/** ssh-agents the bench started, killed at the end. */
const sshAgents = []

function exec(rt, file, args, { env = {}, input, allowFail = false } = {}) {
  const result = spawnSync(file, args, { env: { ...rt.env, ...env }, input, cwd: dir, maxBuffer: 64 * 1024 * 1024 })
  if (!allowFail && result.status !== 0)
    throw new Error(`bench: setup command failed on Node ${rt.version}: ${file} ${args.join(' ')}\n${result.stderr?.toString() ?? result.error}`)
  return result
}

const stashFile = (name) => join(dir, `${name}.sstash`)

/** Creates a stash through the library (fast). */
async function makeStash(name, values, kdfSpec = CHEAP_KDF) {
  const { SecureStash, parseKdfSpec } = await import(join(SNAP, 'dist/index.js'))
  const stash = await SecureStash.create(stashFile(name), PASSWORD, { kdf: parseKdfSpec(kdfSpec) })
  await stash.update((tree) => {
    for (const [key, value] of values) tree.write(key, value)
  })
  return stashFile(name)
}

/** Unlocks a stash in each Node's agent, for longer than the bench runs. */
const unlock = (path) => {
  for (const rt of RUNTIMES) exec(rt, rt.node, [BIN.sstash, 'unlock', '--timeout', '3h', '--stash', path], { env: { SSTASH_PASSWORD: PASSWORD } })
}

// --- measuring ------------------------------------------------------------------------------

/** One timed run: wall milliseconds from spawn to exit. Fails loudly on a non-zero exit. */
function timeOnce(cmd) {
  const started = process.hrtime.bigint()
  const result = spawnSync(cmd.file, cmd.args, { env: cmd.env, input: cmd.input, cwd: cmd.cwd ?? dir, maxBuffer: 64 * 1024 * 1024 })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`bench: ${cmd.label} on Node ${cmd.rt.version} exited ${result.status ?? result.signal}: ${result.stderr?.toString().slice(0, 500)}`)
  return ms
}

/** Peak resident memory in KiB of one run, from GNU time, or undefined. */
function peakRss(cmd) {
  if (!TIME) return undefined
  const result = spawnSync(TIME, ['-f', '%M', cmd.file, ...cmd.args], { env: cmd.env, input: cmd.input, cwd: cmd.cwd ?? dir, maxBuffer: 64 * 1024 * 1024 })
  const last = result.stderr.toString().trim().split('\n').pop()
  return /^\d+$/.test(last ?? '') ? Number(last) : undefined
}

/** The group's commands on one Node, with that Node's binary and environment (and each of sstash's again with BENCH_AGAINST's build). */
function commandsOn(group, rt) {
  const onNode = (cmd) => ({ ...cmd, rt, file: cmd.file === 'node' ? rt.node : cmd.file, env: { ...rt.env, ...cmd.env } })
  const before = (cmd) => {
    const swap = (arg) => AGAINST.bins.get(arg) ?? arg
    const args = cmd.args.map(swap)
    if (swap(cmd.file) === cmd.file && args.every((arg, i) => arg === cmd.args[i])) return []
    return [{ ...cmd, key: `${cmd.key}@before`, label: `${cmd.label} (before: ${AGAINST.commit})`, file: swap(cmd.file), args, goal: undefined }]
  }
  // The "before" rows come after all the others: one next to its twin would run right after it
  // and find what the twin left (a file it wrote, which the agent has to read again).
  const own = group.commands(rt)
  const cmds = [...own, ...(AGAINST ? own.flatMap(before) : [])]
  // A "before" row whose floor is one of sstash's rows is read against that row's "before".
  const keys = new Set(cmds.map((cmd) => cmd.key))
  const floorOf = (cmd) => (cmd.key.endsWith('@before') && keys.has(`${cmd.floor}@before`) ? `${cmd.floor}@before` : cmd.floor)
  return cmds.map((cmd) => onNode({ ...cmd, floor: floorOf(cmd) }))
}

/** Runs a group side by side on every Node and returns, per Node, one summary per command. */
function measureGroup(group) {
  const cmds = RUNTIMES.flatMap((rt) => commandsOn(group, rt))
  for (let w = 0; w < WARMUP; w++) for (const cmd of cmds) timeOnce(cmd)
  const samples = cmds.map(() => [])
  const rounds = group.rounds ?? ROUNDS
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cmds.length; k++) {
      const i = (k + r) % cmds.length
      samples[i].push(timeOnce(cmds[i]))
    }
  }
  return RUNTIMES.map((rt) => {
    const mine = cmds.map((cmd, i) => ({ cmd, stats: summarize(samples[i]), samples: samples[i] })).filter(({ cmd }) => cmd.rt === rt)
    const medianOf = (key) => mine.find(({ cmd }) => cmd.key === key)?.stats.median
    const node = medianOf('node')
    const rows = mine.map(({ cmd, stats, samples: ms }) => {
      const floor = medianOf(cmd.floor ?? 'node')
      return {
        key: cmd.key,
        label: cmd.label,
        median: stats.median,
        p90: stats.p90,
        min: stats.min,
        runs: ms.length,
        ratio: node ? stats.median / node : undefined,
        overFloorMs: floor !== undefined && cmd.key !== (cmd.floor ?? 'node') ? stats.median - floor : undefined,
        peakRssKiB: peakRss(cmd),
        samples: ms.map((v) => Math.round(v * 100) / 100),
      }
    })
    return { node: rt.version, execve: rt.execve, rows: rows.map((row, i) => ({ ...row, verdict: verdict(mine[i].cmd, row, rows) })) }
  })
}

/** Whether a row meets its goal: at most `overFloorMs` over its floor, or at most `peerRatio` times a peer row. */
function verdict(cmd, row, rows) {
  const goal = typeof cmd.goal === 'function' ? cmd.goal(cmd.rt) : cmd.goal
  if (!goal) return ''
  if (goal.overFloorMs !== undefined && row.overFloorMs !== undefined)
    return `${row.overFloorMs <= goal.overFloorMs ? 'meets' : 'MISSED'} (+${goal.overFloorMs} ms)`
  const peer = goal.peer && rows.find((r) => r.key === goal.peer)
  if (peer) {
    const ratio = row.median / peer.median
    const met = goal.peerRatio === 1 ? ratio < 1 : ratio <= goal.peerRatio
    return `${ratio.toFixed(2)}x ${goal.peerName}: ${met ? 'meets' : 'MISSED'} (${goal.peerRatio === 1 ? 'faster' : `${goal.peerRatio}x`})`
  }
  return ''
}

// --- the groups -----------------------------------------------------------------------------

const nodeZero = { key: 'node', label: '`node -e 0`', file: 'node', args: ['-e', '0'] }
const ten = Array.from({ length: 10 }, (_, i) => [`VAR_${i}`, `value-${i}-${'x'.repeat(20)}`])
const gitFill = 'protocol=https\nhost=example.com\n\n'
const approve = 'protocol=https\nhost=example.com\nusername=bob\npassword=s3cret\n\n'
const first = RUNTIMES[0]
// The agent floor: a Node script that reads git's request, sends one read request for the
// helper's subtree and prints an answer, nothing else; over node:net as sstash does, and over
// Node's internal pipe binding (process.binding('pipe_wrap'), undocumented, not used by sstash)
// to show what node:net costs. With `crypto`, it loads node:crypto first: the crypto floor.
const agentAsk = (transport, crypto = false) => `${crypto ? "require('node:crypto')" : ''}
const fs = require('node:fs')
fs.readSync(0, Buffer.alloc(4096))
const sock = process.env.XDG_RUNTIME_DIR + '/sstash/agent.sock'
const line = JSON.stringify({ v: 1, op: 'read', path: fs.realpathSync(process.env.SSTASH_FILE), keys: [['git']] }) + '\\n'
const chunks = []
const done = () => { JSON.parse(Buffer.concat(chunks).toString()); process.stdout.write('username=bob\\npassword=s3cret\\n') }
${transport === 'net'
    ? `const s = require('node:net').connect(sock)
s.on('connect', () => s.write(line)).on('data', (d) => chunks.push(d)).on('end', () => { done(); s.destroy() })`
    : `const { Pipe, PipeConnectWrap, constants } = process.binding('pipe_wrap')
const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset } = process.binding('stream_wrap')
const h = new Pipe(constants.SOCKET)
const req = new PipeConnectWrap()
req.oncomplete = () => {
  const w = new WriteWrap(); w.handle = h; w.oncomplete = () => {}
  h.writeUtf8String(w, line)
  h.onread = (ab) => { const n = streamBaseState[kReadBytesOrError]; if (n > 0) chunks.push(Buffer.from(ab, streamBaseState[kArrayBufferOffset], n)); else { done(); h.close() } }
  h.readStart()
}
h.connect(req, sock)`}
`

// The run floor: the agent floor for sstash-run's read (the subtree `app`), then the command
// `true` started as sstash-run starts it: by execve where Node has it, else spawned and waited for.
const runAsk = `const fs = require('node:fs')
const line = JSON.stringify({ v: 1, op: 'read', path: fs.realpathSync(process.env.SSTASH_FILE), keys: [['app']] }) + '\\n'
const chunks = []
const start = () => {
  JSON.parse(Buffer.concat(chunks).toString())
  if (process.execve) process.execve('/usr/bin/true', ['true'], { ...process.env })
  else require('node:child_process').spawn('true', { stdio: 'inherit' }).on('exit', (code) => process.exit(code))
}
const s = require('node:net').connect(process.env.XDG_RUNTIME_DIR + '/sstash/agent.sock')
s.on('connect', () => s.write(line)).on('data', (d) => chunks.push(d)).on('end', () => { s.destroy(); start() })
`

// The ssh-agent floor: what any open by an ssh-agent key does after Node starts, whatever the
// stash: load node:crypto (for the HKDF; our agent's floor needs none), connect to
// SSH_AUTH_SOCK, have the key sign a fixed challenge (one request: the key's public blob is
// known, as the stash's header holds it; SSH_KEY_BLOB here), derive a key and print.
const sshAsk = `const c = require('node:crypto')
const msg = (type, body) => { const b = Buffer.alloc(5 + body.length); b.writeUInt32BE(body.length + 1); b[4] = type; body.copy(b, 5); return b }
const str = (b) => { const l = Buffer.alloc(4); l.writeUInt32BE(b.length); return Buffer.concat([l, b]) }
const blob = Buffer.from(process.env.SSH_KEY_BLOB, 'base64')
const s = require('node:net').connect(process.env.SSH_AUTH_SOCK)
let buf = Buffer.alloc(0)
s.on('connect', () => s.write(msg(13, Buffer.concat([str(blob), str(c.createHash('sha512').update('challenge').digest()), Buffer.alloc(4)])))).on('data', (d) => {
  buf = Buffer.concat([buf, d]); if (buf.length < 4 || buf.length < 4 + buf.readUInt32BE(0)) return
  const m = buf.subarray(4, 4 + buf.readUInt32BE(0))
  if (m[0] !== 14) throw new Error('the ssh-agent refused to sign')
  const key = c.hkdfSync('sha256', m.subarray(5), Buffer.alloc(32), 'bench', 32); process.stdout.write(String(key.byteLength)); s.destroy()
})
`

// git's floor helper: the agent floor as a file git runs, named as sstash's helper is.
const floorHelper = join(pathDir, 'git-credential-floor')
writeFileSync(floorHelper, `#!/usr/bin/env node\n${agentAsk('net')}`, { mode: 0o755 })
/** The floor rows, asking the agent for a stash it holds (made by {@link floorStash}). */
const floorRows = (env) => ({
  agent: { key: 'askNet', label: 'agent floor: a Node script that asks the agent over node:net and prints', file: 'node', args: ['-e', agentAsk('net')], env, input: gitFill },
  crypto: { key: 'askCrypto', label: 'crypto floor: the same with node:crypto loaded', file: 'node', args: ['-e', agentAsk('net', true)], env, input: gitFill },
})
let floorPath
/** A small stash unlocked in every Node's agent, for the floor rows; its SSTASH_FILE. */
async function floorStash() {
  if (!floorPath) {
    floorPath = await makeStash('floor', [[['git', 'x'], new TextEncoder().encode('y')]])
    unlock(floorPath)
  }
  return { SSTASH_FILE: floorPath }
}

async function groups() {
  const out = []
  const want = (id) => ONLY.length === 0 || ONLY.some((prefix) => id.startsWith(prefix))

  if (want('git')) {
    const path = await makeStash('git', [])
    // The helper's own key layout: store through git itself.
    const helperEnv = { SSTASH_FILE: path }
    exec(first, 'git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], { env: { ...helperEnv, SSTASH_PASSWORD: PASSWORD }, input: approve })
    unlock(path)
    const storeFile = join(dir, 'git-credentials')
    exec(first, 'git', ['-c', `credential.helper=store --file=${storeFile}`, 'credential', 'approve'], { input: approve })
    for (const rt of RUNTIMES) {
      const check = exec(rt, 'git', ['-c', 'credential.helper=sstash', 'credential', 'fill'], { env: helperEnv, input: gitFill })
      if (!check.stdout.toString().includes('password=s3cret')) throw new Error(`bench: git credential fill through sstash did not return the password on Node ${rt.version}`)
    }
    const fill = (helper) => ['-c', `credential.helper=${helper}`, 'credential', 'fill']
    out.push({
      id: 'git',
      title: '`git credential fill`, stash unlocked in the agent (cheap KDF)',
      target: 'the helper alone at most 3 ms over the agent floor; `git credential fill` at most 3 ms over git with the agent floor as its helper, named the same way',
      commands: () => [
        nodeZero,
        { key: 'helper', label: 'git-credential-sstash get (helper alone)', file: 'node', args: [BIN.git, 'get'], env: helperEnv, input: gitFill, floor: 'askNet', goal: { overFloorMs: 3 } },
        { key: 'launcher', label: 'the same through its launcher (`/bin/sh`, then node)', file: BIN.git, args: ['get'], env: helperEnv, input: gitFill, floor: 'askNet' },
        { key: 'nocache', label: 'the same without the code cache (NODE_DISABLE_COMPILE_CACHE=1)', file: 'node', args: [BIN.git, 'get'], env: { ...helperEnv, NODE_DISABLE_COMPILE_CACHE: '1' }, input: gitFill },
        { ...floorRows(helperEnv).agent },
        { key: 'askPipe', label: "the same over Node's internal pipe binding (no node:net; not used by sstash)", file: 'node', args: ['-e', agentAsk('pipe')], env: helperEnv, input: gitFill },
        { key: 'floorPath', label: 'floor by path: git credential fill, the agent floor as the helper', file: 'git', args: fill(floorHelper), env: helperEnv, input: gitFill },
        { key: 'byPath', label: 'git credential fill, helper by path (`.../git-credential-sstash`)', file: 'git', args: fill(join(pathDir, 'git-credential-sstash')), env: helperEnv, input: gitFill, floor: 'floorPath', goal: { overFloorMs: 3 } },
        { key: 'floorName', label: 'floor by name: the same floor helper, `credential.helper floor`', file: 'git', args: fill('floor'), env: helperEnv, input: gitFill },
        { key: 'byName', label: 'git credential fill, helper `sstash` (by name)', file: 'git', args: fill('sstash'), env: helperEnv, input: gitFill, floor: 'floorName', goal: { overFloorMs: 3 } },
        { key: 'store', label: 'git credential fill, helper `store` (plain-text file)', file: 'git', args: fill(`store --file=${storeFile}`), input: gitFill },
      ],
    })
  }

  if (want('run')) {
    const path = await makeStash('run', ten.map(([name, value]) => [['app', name], new TextEncoder().encode(value)]))
    unlock(path)
    const envFile = join(dir, '.env')
    writeFileSync(envFile, ten.map(([name, value]) => `${name}=${value}\n`).join(''))
    const dotenvx = peerBin('@dotenvx/dotenvx', 'dotenvx')
    const dotenvCli = peerBin('dotenv-cli', 'dotenv')
    const envCmd = peerBin('env-cmd', 'env-cmd')
    const dotenv = peerBin('dotenv', 'dotenv')
    for (const rt of RUNTIMES) {
      const check = exec(rt, rt.node, [BIN.run, '-k', 'app', '--', 'sh', '-c', 'echo $VAR_9'], { env: { SSTASH_FILE: path } })
      if (!check.stdout.toString().startsWith('value-9')) throw new Error(`bench: sstash-run did not inject the variables on Node ${rt.version}`)
    }
    const floors = floorRows(await floorStash())
    // Faster than `dotenv run` where sstash-run can become the command (process.execve), else within 1.1x.
    const runGoal = (rt) => ({ peer: 'dotenv', peerName: '`dotenv run`', peerRatio: rt.execve ? 1 : 1.1 })
    out.push({
      id: 'run',
      title: 'run `true` with 10 variables (sstash unlocked in the agent, cheap KDF; peers read the same 10 from a plaintext .env)',
      target: 'sstash-run faster than `dotenv run` where the Node has process.execve, else at most 1.1x `dotenv run`',
      commands: () => [
        nodeZero,
        { key: 'run', label: '`sstash-run -k app -- true`', file: 'node', args: [BIN.run, '-k', 'app', '--', 'true'], env: { SSTASH_FILE: path }, floor: 'runFloor', goal: runGoal },
        { key: 'runFloor', label: 'run floor: the agent floor for `-k app`, then `true` started as sstash-run does (execve, else spawn)', file: 'node', args: ['-e', runAsk], env: { SSTASH_FILE: path } },
        { key: 'mask', label: '`sstash-run --mask -k app -- true` (always spawns)', file: 'node', args: [BIN.run, '--mask', '-k', 'app', '--', 'true'], env: { SSTASH_FILE: path } },
        { key: 'dotenv', label: `\`dotenv run -- true\` (dotenv ${dotenv.version})`, file: 'node', args: [dotenv.path, 'run', '-q', '-f', envFile, '--', 'true'] },
        { key: 'dotenvx', label: `\`dotenvx run -- true\` (@dotenvx/dotenvx ${dotenvx.version})`, file: 'node', args: [dotenvx.path, 'run', '-q', '-f', envFile, '--', 'true'] },
        { key: 'dotenv-cli', label: `\`dotenv -e .env -- true\` (dotenv-cli ${dotenvCli.version})`, file: 'node', args: [dotenvCli.path, '-e', envFile, '--', 'true'] },
        { key: 'env-cmd', label: `\`env-cmd -f .env true\` (env-cmd ${envCmd.version})`, file: 'node', args: [envCmd.path, '-f', envFile, 'true'] },
        // The floor for any runner written for Node that spawns: one Node start-up plus one child.
        { key: 'spawn', label: '`node -e "spawn(\'true\')"` (floor: Node plus one child)', file: 'node', args: ['-e', "require('node:child_process').spawn('true', { stdio: 'inherit' })"] },
        { key: 'env-file', label: '`node --env-file=.env -e 0` (no child)', file: 'node', args: [`--env-file=${envFile}`, '-e', '0'] },
        floors.agent,
      ],
    })
  }

  if (want('team')) {
    // A team stash opened by CI's identity: one age X25519 unwrap, no key derivation, no agent.
    const ageKeygen = spawnSync('age-keygen', [], { encoding: 'utf8' })
    if (ageKeygen.status !== 0) throw new Error('bench: the team group needs age-keygen (Debian package age)')
    const identity = /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(ageKeygen.stdout)[0]
    const teamEnv = { SSTASH_IDENTITY: identity }
    const team = (name, n) => {
      const path = stashFile(name)
      exec(first, first.node, [BIN.sstash, '--stash', path, 'team', 'init', '--as', 'ci', '--scope', 'dev=dev/', '--scope', 'prod=prod/'], { env: teamEnv })
      const envFile = join(dir, `${name}.env`)
      writeFileSync(envFile, Array.from({ length: n }, (_, i) => (i < 10 ? ten[i] : [`VAR_${i}`, `value-${i}-${'x'.repeat(20)}`])).map(([k, v]) => `${k}=${v}\n`).join(''))
      exec(first, first.node, [BIN.sstash, '--stash', path, 'import', envFile, '--into', 'dev/app'], { env: teamEnv })
      return path
    }
    const small = team('team10', 10)
    const large = team('team1000', 1_000)
    // 50 members in the large one: a read needs the membership, whatever its size.
    for (let m = 1; m < 50; m++) {
      const recipient = /age1[0-9a-z]+/.exec(spawnSync('age-keygen', [], { encoding: 'utf8' }).stdout)[0]
      exec(first, first.node, [BIN.sstash, '--stash', large, 'team', 'add', `member${m}`, '--key', recipient, '--scope', 'dev'], { env: teamEnv })
    }
    const floors = floorRows(await floorStash())
    // dotenvx's own encryption: the same 10 values, its private key in the environment (as in CI).
    const dotenvx = peerBin('@dotenvx/dotenvx', 'dotenvx')
    const dxDir = join(dir, 'dotenvx')
    mkdirSync(dxDir)
    writeFileSync(join(dxDir, '.env'), ten.map(([k, v]) => `${k}=${v}\n`).join(''))
    exec(first, first.node, [dotenvx.path, 'encrypt', '-f', join(dxDir, '.env'), '-fk', join(dxDir, '.env.keys')])
    const dxKey = /^DOTENV_PRIVATE_KEY=(\S+)$/m.exec(readFileSync(join(dxDir, '.env.keys'), 'utf8'))[1]
    rmSync(join(dxDir, '.env.keys'))
    for (const rt of RUNTIMES) {
      const got = exec(rt, rt.node, [BIN.sstash, '--stash', small, 'get', 'dev/app/VAR_9'], { env: teamEnv }).stdout.toString()
      const ran = exec(rt, rt.node, [dotenvx.path, 'run', '-q', '-f', join(dxDir, '.env'), '--', 'sh', '-c', 'echo $VAR_9'], { env: { DOTENV_PRIVATE_KEY: dxKey } }).stdout.toString()
      if (!got.startsWith('value-9') || !ran.startsWith('value-9')) throw new Error(`bench: the team stash or dotenvx did not give the value on Node ${rt.version}`)
    }
    // The floor: what any age reader does after Node starts: load node:crypto, import the
    // identity and derive its public key, one X25519 with the stanza's share, HKDF, and one
    // ChaCha20-Poly1305 open; then print. Made here with fixed inputs, so it always decrypts.
    const { createCipheriv, diffieHellman, generateKeyPairSync, hkdfSync } = await import('node:crypto')
    const der = (k, type) => k.export({ format: 'der', type }).toString('hex')
    const me = generateKeyPairSync('x25519')
    const share = generateKeyPairSync('x25519')
    const wrapKey = Buffer.from(hkdfSync('sha256', diffieHellman({ privateKey: share.privateKey, publicKey: me.publicKey }), Buffer.alloc(64), 'age-encryption.org/v1/X25519', 32))
    const cipher = createCipheriv('chacha20-poly1305', wrapKey, Buffer.alloc(12), { authTagLength: 16 })
    const sealed = Buffer.concat([cipher.update(Buffer.alloc(32, 7)), cipher.final(), cipher.getAuthTag()]).toString('hex')
    const floorUnwrap = `const c = require('node:crypto'); const h = (x) => Buffer.from(x, 'hex')
const privateKey = c.createPrivateKey({ key: h('${der(me.privateKey, 'pkcs8')}'), format: 'der', type: 'pkcs8' })
c.createPublicKey(privateKey).export({ format: 'der', type: 'spki' })
const publicKey = c.createPublicKey({ key: h('${der(share.publicKey, 'spki')}'), format: 'der', type: 'spki' })
const key = Buffer.from(c.hkdfSync('sha256', c.diffieHellman({ privateKey, publicKey }), Buffer.alloc(64), 'age-encryption.org/v1/X25519', 32))
const d = c.createDecipheriv('chacha20-poly1305', key, Buffer.alloc(12), { authTagLength: 16 }); const s = h('${sealed}')
d.setAuthTag(s.subarray(32)); require('node:fs').writeSync(1, Buffer.concat([d.update(s.subarray(0, 32)), d.final()]))`
    out.push({
      id: 'team',
      title: 'a team stash opened with SSTASH_IDENTITY (an age X25519 key), no agent, as in CI; dotenvx with its private key in the environment',
      target: '`sstash get` at most 5 ms over the crypto floor, at 10 values and at 1,000 (50 members); `sstash-run` faster than `dotenvx run`',
      commands: () => [
        nodeZero,
        floors.crypto,
        { key: 'crypto', label: 'floor: `node -e` that loads node:crypto and does one age X25519 unwrap', file: 'node', args: ['-e', floorUnwrap] },
        { key: 'get', label: '`sstash get`, team stash, 10 values', file: 'node', args: [BIN.sstash, '--stash', small, 'get', 'dev/app/VAR_1'], env: teamEnv, floor: 'askCrypto', goal: { overFloorMs: 5 } },
        { key: 'get1000', label: '`sstash get`, team stash, 1,000 values, 50 members', file: 'node', args: [BIN.sstash, '--stash', large, 'get', 'dev/app/VAR_1'], env: teamEnv, floor: 'askCrypto', goal: { overFloorMs: 5 } },
        { key: 'run', label: '`sstash-run -k dev/app -- true`, team stash, 10 keys', file: 'node', args: [BIN.run, '--stash', small, '-k', 'dev/app', '--', 'true'], env: teamEnv, goal: { peer: 'dotenvx', peerName: '`dotenvx run`', peerRatio: 1 } },
        { key: 'dotenvx', label: `\`dotenvx run -- true\`, encrypted .env, DOTENV_PRIVATE_KEY (@dotenvx/dotenvx ${dotenvx.version})`, file: 'node', args: [dotenvx.path, 'run', '-q', '-f', join(dxDir, '.env'), '--', 'true'], env: { DOTENV_PRIVATE_KEY: dxKey } },
      ],
    })
  }

  if (want('size')) {
    const sizes = [
      ['10 keys', 10],
      ['1,000 keys', 1_000],
      ['10,000 keys', 10_000],
    ]
    // `set` writes a copy of each stash of its own: a `get` of the stash a `set` had just changed
    // would time the agent reading the changed file again, not the `get` (each round did until
    // 2026-12-07: +10 to +25 ms on the 10,000-key row).
    const sized = []
    for (const [label, n] of sizes) {
      const values = Array.from({ length: n }, (_, i) => [[`project${i % 10}`, `service${i % 100}`, `key${i}`], new TextEncoder().encode(`secret-value-${i}-${'s'.repeat(24)}`)])
      const [path, setPath] = [await makeStash(`size${n}`, values), await makeStash(`size${n}-set`, values)]
      unlock(path)
      unlock(setPath)
      sized.push({ label, n, path, setPath })
    }
    const floors = floorRows(await floorStash())
    out.push({
      id: 'size',
      title: '`sstash get` / `sstash set` by stash size (unlocked in the agent, cheap KDF; keys spread over 10 x 100 subtrees)',
      target: '`sstash get` at 10,000 keys at most 5 ms over the agent floor',
      commands: () => [
        nodeZero,
        floors.agent,
        ...sized.flatMap(({ label, n, path, setPath }) => [
          { key: `get${n}`, label: `\`sstash get\`, ${label}`, file: 'node', args: [BIN.sstash, 'get', '--stash', path, 'project1/service1/key1'], floor: 'askNet', goal: n === 10_000 ? { overFloorMs: 5 } : undefined },
          { key: `set${n}`, label: `\`sstash set\`, ${label}`, file: 'node', args: [BIN.sstash, 'set', '--stash', setPath, 'project1/service1/key1'], input: 'new-value' },
        ]),
      ],
    })
    // A committed reference file resolved against the 10,000-key stash, against -k of a subtree.
    const large = sized.find(({ n }) => n === 10_000)
    const refs = join(dir, 'refs.env.sstash')
    writeFileSync(refs, Array.from({ length: 10 }, (_, j) => `VAR_${j}=sstash://project1/service1/key${1 + 100 * j}\n`).join(''))
    out.push({
      id: 'size-refs',
      title: 'a reference file of 10 references into the 10,000-key stash, against `-k` of a 100-value subtree of it (unlocked in the agent)',
      target: '`sstash-run --env-file` costs at most what `-k` costs',
      commands: () => [
        nodeZero,
        { key: 'k', label: '`sstash-run -k project1/service1 -- true`, 10,000 keys', file: 'node', args: [BIN.run, '--stash', large.path, '-k', 'project1/service1', '--', 'true'] },
        { key: 'refs', label: '`sstash-run --env-file refs -- true`, 10,000 keys', file: 'node', args: ['--', BIN.run, '--stash', large.path, '--env-file', refs, '--', 'true'], goal: { peer: 'k', peerName: '`-k`', peerRatio: 1.05 } },
      ],
    })
    const big = new Uint8Array(randomBytes(10 * 1024 * 1024))
    const [bigPath, bigSetPath] = [await makeStash('big', [[['big'], big]]), await makeStash('big-set', [[['big'], big]])]
    unlock(bigPath)
    unlock(bigSetPath)
    const bigInput = join(dir, 'big.bin')
    writeFileSync(bigInput, big)
    out.push({
      id: 'size-10mb',
      title: 'one 10 MB value (unlocked in the agent, cheap KDF)',
      target: 'report',
      rounds: QUICK ? 3 : 6,
      commands: () => [
        nodeZero,
        { key: 'get', label: '`sstash get`, one 10 MB value', file: 'node', args: [BIN.sstash, 'get', '--stash', bigPath, 'big'] },
        { key: 'set', label: '`sstash set --file`, one 10 MB value', file: 'node', args: [BIN.sstash, 'set', '--stash', bigSetPath, 'big', '--file', bigInput] },
      ],
    })
  }

  // A personal stash opened by an enrolled ssh-agent key (docs/UNLOCK.md), against the same get
  // through our agent: one ssh-agent request (sign), HKDF, and the client's own decryption.
  // Its floor row shows what the ssh-agent and node:crypto cost over asking our agent.
  if (want('ssh-agent') && spawnSync('ssh-agent', ['-k'], { env: {} }).error === undefined) {
    const sock = join(dir, 'ssh-agent.sock')
    const started = spawnSync('ssh-agent', ['-s', '-a', sock], { encoding: 'utf8' })
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1])
    if (pid > 0) sshAgents.push(pid)
    const key = join(dir, 'id_ed25519')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])
    spawnSync('ssh-add', ['-q', key], { env: { ...process.env, SSH_AUTH_SOCK: sock } })
    const blob = readFileSync(`${key}.pub`, 'utf8').split(' ')[1]
    const viaAgent = await makeStash('held', [[['k'], new TextEncoder().encode('v')]])
    unlock(viaAgent)
    const viaSsh = await makeStash('enrolled', [[['k'], new TextEncoder().encode('v')]])
    exec(first, first.node, [BIN.sstash, 'enroll', 'ssh-agent', '--stash', viaSsh], { env: { SSTASH_PASSWORD: PASSWORD, SSH_AUTH_SOCK: sock } })
    const floors = floorRows(await floorStash())
    out.push({
      id: 'ssh-agent',
      title: '`sstash get` on a personal stash opened by an enrolled ssh-agent key (ed25519), against the same get through our agent',
      target: 'the ssh-agent open at most 5 ms over the get through our agent (issue 23)',
      commands: () => [
        nodeZero,
        floors.agent,
        floors.crypto,
        { key: 'sshFloor', label: 'ssh-agent floor: a Node script that loads node:crypto, asks the ssh-agent for one signature, derives a key (HKDF) and prints', file: 'node', args: ['-e', sshAsk], env: { SSH_AUTH_SOCK: sock, SSH_KEY_BLOB: blob }, floor: 'askNet' },
        { key: 'agent', label: '`sstash get`, stash unlocked in our agent', file: 'node', args: [BIN.sstash, 'get', '--stash', viaAgent, 'k'], floor: 'askNet' },
        { key: 'ssh', label: '`sstash get`, stash opened by the ssh-agent key', file: 'node', args: [BIN.sstash, 'get', '--stash', viaSsh, 'k'], env: { SSH_AUTH_SOCK: sock, SSTASH_AGENT_TIMEOUT: '0' }, floor: 'agent', goal: { overFloorMs: 5 } },
      ],
    })
  }

  if (want('unlock')) {
    const path = await makeStash('default', [[['a'], new TextEncoder().encode('1')]], 'scrypt')
    const pbkdf = `require('node:crypto').pbkdf2('${PASSWORD}', Buffer.alloc(32), 210000, 32, 'sha512', () => {})`
    const scrypt17 = `require('node:crypto').scrypt('${PASSWORD}', Buffer.alloc(32), 32, { N: 2 ** 17, r: 8, p: 1, maxmem: 2 ** 30 }, () => {})`
    out.push({
      id: 'unlock',
      title: 'unlock at the default KDF (scrypt N=2^17, r=8, p=1, which is OWASP\'s minimum for scrypt)',
      target: 'report only: a security setting, not a cost to cut',
      rounds: QUICK ? 3 : 7,
      commands: () => [
        nodeZero,
        { key: 'kdf', label: 'KDF alone: scrypt N=2^17, r=8, p=1 (OWASP minimum)', file: 'node', args: ['-e', scrypt17] },
        { key: 'unlock', label: '`sstash unlock` (default KDF, SSTASH_PASSWORD)', file: 'node', args: [BIN.sstash, 'unlock', '--stash', path], env: { SSTASH_PASSWORD: PASSWORD }, floor: 'kdf' },
        { key: 'pbkdf2', label: 'KDF alone: PBKDF2-SHA512, 210,000 iterations (OWASP minimum)', file: 'node', args: ['-e', pbkdf] },
      ],
    })
  }

  if (want('bundle')) {
    // The same hot paths from bin/ (tsc output, one file per module) and from the esbuild bundle.
    const path = await makeStash('bundle', [
      ...ten.map(([name, value]) => [['app', name], new TextEncoder().encode(value)]),
      [['project1', 'service1', 'key1'], new TextEncoder().encode('v')],
    ])
    exec(first, 'git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }, input: approve })
    unlock(path)
    const env = { SSTASH_FILE: path }
    out.push({
      id: 'bundle',
      title: 'tsc output unbundled (ES modules) vs bin/ (one CommonJS bundle per binary, scripts/bundle.mjs), unlocked in the agent',
      target: 'report',
      commands: () => [
        nodeZero,
        ...[
          ['unbundled', UNBUNDLED],
          ['bin/, bundled', BIN],
        ].flatMap(([variant, bins]) => [
          { key: `git-${variant}`, label: `git-credential-sstash get (${variant})`, file: 'node', args: [bins.git, 'get'], env, input: gitFill },
          { key: `run-${variant}`, label: `\`sstash-run -k app -- true\` (${variant})`, file: 'node', args: [bins.run, '-k', 'app', '--', 'true'], env },
          { key: `get-${variant}`, label: `\`sstash get\`, 11 keys (${variant})`, file: 'node', args: [bins.sstash, 'get', 'project1/service1/key1'], env },
        ]),
      ],
    })
  }

  if (want('profile')) {
    // What start-up is made of: node itself, then loading each binary's modules without running it.
    const requireOnly = (file) => ({ key: file, label: `load ${file} (no main)`, file: 'node', args: ['-e', `require(${JSON.stringify(join(SNAP, file))})`] })
    out.push({
      id: 'profile',
      title: 'profile: node start-up, node:net, and loading each bundle without running it (no code cache: a plain require)',
      target: 'what dominates',
      commands: () => [
        nodeZero,
        { key: 'net', label: '`node -e "require(\'node:net\')"`', file: 'node', args: ['-e', "require('node:net')"] },
        ...['dist/bundle/git-credential-sstash.cjs', 'dist/bundle/sstash-run.cjs', 'dist/bundle/sstash.cjs'].map(requireOnly),
      ],
    })
  }

  if (want('nokey')) {
    const spec = `scrypt:N=${MID_KDF.N},r=${MID_KDF.r},p=${MID_KDF.p}`
    const path = await makeStash('nokey', [], spec)
    exec(first, 'git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }, input: approve })
    const kdfAlone = `require('node:crypto').scrypt('${PASSWORD}', Buffer.alloc(32), 32, { N: ${MID_KDF.N}, r: ${MID_KDF.r}, p: ${MID_KDF.p}, maxmem: 2 ** 30 }, () => {})`
    out.push({
      id: 'nokey',
      title: `the helper without the agent (none running; SSTASH_PASSWORD, KDF ${spec})`,
      target: 'report: its cost over the KDF alone',
      // "Without the agent", as in CI: none runs while this group is measured, which is why it comes last.
      before: async () => {
        for (const rt of RUNTIMES) {
          exec(rt, rt.node, [BIN.sstash, 'lock', '--all'], { allowFail: true })
          for (let i = 0; i < 100 && existsSync(join(rt.env.XDG_RUNTIME_DIR, 'sstash', 'agent.sock')); i++) await new Promise((r) => setTimeout(r, 20))
        }
      },
      commands: () => [
        nodeZero,
        { key: 'kdf', label: `KDF alone: \`node -e crypto.scrypt(${spec})\``, file: 'node', args: ['-e', kdfAlone] },
        { key: 'helper', label: 'git-credential-sstash get, SSTASH_PASSWORD', file: 'node', args: [BIN.git, 'get'], env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }, input: gitFill, floor: 'kdf' },
      ],
    })
  }

  return out
}

// --- output -----------------------------------------------------------------------------------

function machine() {
  const commit = (() => {
    try {
      const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim()
      // A tree with changes not committed is not HEAD: its results say so (bench/results aside).
      const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { cwd: ROOT }).toString().trim()
      return changed ? `${head}-dirty` : head
    } catch {
      return 'unknown'
    }
  })()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    nproc: cpus().length,
    nodes: RUNTIMES.map((rt) => `${rt.version}${rt.execve ? ' (execve)' : ''}`),
    git: execFileSync('git', ['--version']).toString().trim(),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    commit,
    date: new Date().toISOString(),
    bins: `bin/ (dist/bundle/*.cjs)${AGAINST ? `, against ${AGAINST.commit}` : ''}`,
    rounds: ROUNDS,
    warmup: WARMUP,
  }
}

/** The goals' rows, one column per Node: what the README's headline comes from. */
function goalsTable(results) {
  const lines = [`| goal | ${RUNTIMES.map((rt) => `Node ${rt.version}`).join(' | ')} |`, `|---|${RUNTIMES.map(() => '---|').join('')}`]
  for (const group of results) {
    const [firstNode] = group.perNode
    for (const row of firstNode?.rows ?? []) {
      if (!row.verdict) continue
      const cells = group.perNode.map((n) => {
        const r = n.rows.find((x) => x.key === row.key)
        return r ? `${r.overFloorMs !== undefined ? plus(r.overFloorMs) : formatMs(r.median)}; ${r.verdict}` : ''
      })
      lines.push(`| ${row.label} | ${cells.join(' | ')} |`)
    }
  }
  return lines.join('\n')
}

async function main() {
  const started = Date.now()
  const info = machine()
  const results = []
  let markdown = `## sstash bench\n\n${info.date.slice(0, 10)}, commit ${info.commit}; ${info.cpu}, ${info.nproc} CPUs; Node ${info.nodes.join(', ')}; ${info.git}; load ${info.load} at start; binaries from ${info.bins}; ${ROUNDS} alternating rounds after ${WARMUP} warm-up; NODE_EXTRA_CA_CERTS unset.\n`
  try {
    for (const group of await groups()) {
      process.stderr.write(`bench: ${group.id}...\n`)
      await group.before?.()
      const perNode = measureGroup(group)
      results.push({ id: group.id, title: group.title, target: group.target, perNode })
      markdown += `\n### ${group.title}\n\nTarget: ${group.target}.\n`
      for (const n of perNode) markdown += `\nNode ${n.node}${n.execve ? ' (has process.execve)' : ''}:\n\n${markdownTable(n.rows)}\n`
    }
  } finally {
    for (const rt of RUNTIMES) exec(rt, rt.node, [BIN.sstash, 'lock', '--all'], { allowFail: true })
    for (const pid of sshAgents) process.kill(pid)
    rmSync(dir, { recursive: true, force: true })
    rmSync(shimDir, { recursive: true, force: true })
    rmSync(SNAP, { recursive: true, force: true })
    if (AGAINST) rmSync(AGAINST.copy, { recursive: true, force: true })
  }
  info.seconds = Math.round((Date.now() - started) / 1000)
  info.loadAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  markdown += `\n### The goals, per Node\n\n${goalsTable(results)}\n\nTotal ${info.seconds} s; load ${info.loadAtEnd} at end.\n`
  process.stdout.write(markdown)
  const outDir = join(ROOT, 'bench/results')
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `${info.date.slice(0, 19).replace(/[:T]/g, '-')}-${info.commit}${QUICK ? '-quick' : ''}.json`)
  writeFileSync(file, `${JSON.stringify({ machine: info, results }, null, 2)}\n`)
  process.stderr.write(`bench: wrote ${file.replace(`${ROOT}/`, '')}\n`)
}

await main()
