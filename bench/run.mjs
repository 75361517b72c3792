#!/usr/bin/env node
/**
 * `npm run bench`: times sstash's binaries against baselines and peers on this machine.
 *
 * Method: every group of commands runs side by side: a warm-up, then rounds in which each
 * command of the group runs once, in an order that rotates every round, so that noise from
 * the machine falls on all of them alike. We report the median and the 90th percentile of
 * the wall time of each command (spawn to exit, as a user waits for it), its ratio to
 * `node -e 0` measured in the same group, and its peak RSS (one extra run under
 * /usr/bin/time, else unknown). Markdown goes to stdout, JSON to bench/results/.
 *
 *   BENCH_QUICK=1   fewer rounds (a smoke run)
 *   BENCH_ROUNDS=n  exactly n rounds per group
 *   BENCH_ONLY=a,b  only the groups whose id starts with one of these
 *
 * Nothing here is a mock: real git, real agent socket, real files, real peers from
 * node_modules. The cheap KDF is used except where a row says "default KDF".
 */
import { spawnSync, execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { summarize, formatMs, markdownTable } from './stats.mjs'

const ROOT = resolve(import.meta.dirname, '..')
const QUICK = process.env.BENCH_QUICK === '1'
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 5 : 11))
const WARMUP = QUICK ? 1 : 2
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean)
const NODE = process.execPath
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
const UNBUNDLED = { sstash: unbundled('sstash', 'sstash.js'), run: unbundled('sstash-run', 'sstash-run.js'), git: unbundled('git-credential-sstash', 'git-credential-sstash.js') }
for (const [name, path] of Object.entries(BIN)) if (!existsSync(path)) throw new Error(`bench: ${path} is missing (${name}); run npm run build`)

const peerBin = (pkg, bin) => {
  const json = JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8'))
  const rel = typeof json.bin === 'string' ? json.bin : json.bin[bin]
  return { path: join(ROOT, 'node_modules', pkg, rel), version: json.version }
}

// --- a private playground: HOME, XDG dirs, git config and the agent all live here -------------

const dir = realpathSync(mkdtempSync(join(tmpdir(), 'sstash-bench-')))
const runtime = join(dir, 'run')
mkdirSync(runtime, { mode: 0o700 })
const pathDir = join(dir, 'path')
mkdirSync(pathDir)
// git finds `git-credential-sstash` on PATH, as after `npm install -g`.
symlinkSync(BIN.git, join(pathDir, 'git-credential-sstash'))

const baseEnv = {
  PATH: `${pathDir}:${process.env.PATH}`,
  HOME: dir,
  XDG_RUNTIME_DIR: runtime,
  XDG_CONFIG_HOME: join(dir, 'config'),
  XDG_CACHE_HOME: join(dir, 'cache'),
  XDG_DATA_HOME: join(dir, 'data'),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  LANG: 'C',
}

function exec(file, args, { env = {}, input, allowFail = false } = {}) {
  const result = spawnSync(file, args, { env: { ...baseEnv, ...env }, input, cwd: dir, maxBuffer: 64 * 1024 * 1024 })
  if (!allowFail && result.status !== 0)
    throw new Error(`bench: setup command failed: ${file} ${args.join(' ')}\n${result.stderr?.toString() ?? result.error}`)
  return result
}

const stashFile = (name) => join(dir, `${name}.sstash`)

/** Creates a stash through the library (fast) and unlocks it in the agent through the CLI. */
async function makeStash(name, values, kdfSpec = CHEAP_KDF) {
  const { SecureStash, parseKdfSpec } = await import(join(SNAP, 'dist/index.js'))
  const stash = await SecureStash.create(stashFile(name), PASSWORD, { kdf: parseKdfSpec(kdfSpec) })
  await stash.update((tree) => {
    for (const [key, value] of values) tree.write(key, value)
  })
  return stashFile(name)
}

const unlock = (path) => exec(NODE, [BIN.sstash, 'unlock', '--stash', path], { env: { SSTASH_PASSWORD: PASSWORD } })

// --- measuring ------------------------------------------------------------------------------

/** One timed run: wall milliseconds from spawn to exit. Fails loudly on a non-zero exit. */
function timeOnce(cmd) {
  const started = process.hrtime.bigint()
  const result = spawnSync(cmd.file, cmd.args, { env: { ...baseEnv, ...cmd.env }, input: cmd.input, cwd: cmd.cwd ?? dir, maxBuffer: 64 * 1024 * 1024 })
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  if (result.status !== 0) throw new Error(`bench: ${cmd.label} exited ${result.status ?? result.signal}: ${result.stderr?.toString().slice(0, 500)}`)
  return ms
}

/** Peak resident memory in KiB of one run, from GNU time, or undefined. */
function peakRss(cmd) {
  if (!TIME) return undefined
  const result = spawnSync(TIME, ['-f', '%M', cmd.file, ...cmd.args], { env: { ...baseEnv, ...cmd.env }, input: cmd.input, cwd: cmd.cwd ?? dir, maxBuffer: 64 * 1024 * 1024 })
  const last = result.stderr.toString().trim().split('\n').pop()
  return /^\d+$/.test(last ?? '') ? Number(last) : undefined
}

/** Runs a group side by side and returns one summary per command. */
function measureGroup(group) {
  const cmds = group.commands
  for (let w = 0; w < WARMUP; w++) for (const cmd of cmds) timeOnce(cmd)
  const samples = cmds.map(() => [])
  const rounds = group.rounds ?? ROUNDS
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < cmds.length; k++) {
      const i = (k + r) % cmds.length
      samples[i].push(timeOnce(cmds[i]))
    }
  }
  const node = cmds.findIndex((c) => c.baseline === 'node')
  const nodeMedian = node >= 0 ? summarize(samples[node]).median : undefined
  return cmds.map((cmd, i) => {
    const stats = summarize(samples[i])
    return {
      group: group.id,
      label: cmd.label,
      note: cmd.note ?? '',
      median: stats.median,
      p90: stats.p90,
      min: stats.min,
      runs: samples[i].length,
      ratio: nodeMedian ? stats.median / nodeMedian : undefined,
      peakRssKiB: peakRss(cmd),
      samples: samples[i].map((ms) => Math.round(ms * 100) / 100),
    }
  })
}

// --- the groups -----------------------------------------------------------------------------

const nodeZero = { label: '`node -e 0`', file: NODE, args: ['-e', '0'], baseline: 'node' }
const ten = Array.from({ length: 10 }, (_, i) => [`VAR_${i}`, `value-${i}-${'x'.repeat(20)}`])
const gitFill = 'protocol=https\nhost=example.com\n\n'

async function groups() {
  const out = []
  const want = (id) => ONLY.length === 0 || ONLY.some((prefix) => id.startsWith(prefix))

  if (want('git')) {
    const path = await makeStash('git', [[['git', 'https', 'example.com', 'bob', 'password'], new TextEncoder().encode('s3cret')]])
    // The helper's own key layout may differ from the guess above: store through git itself.
    const helperEnv = { SSTASH_FILE: path }
    const approve = 'protocol=https\nhost=example.com\nusername=bob\npassword=s3cret\n\n'
    exec('git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], { env: { ...helperEnv, SSTASH_PASSWORD: PASSWORD }, input: approve })
    unlock(path)
    const storeFile = join(dir, 'git-credentials')
    exec('git', ['-c', `credential.helper=store --file=${storeFile}`, 'credential', 'approve'], { input: approve })
    exec('git', ['-c', 'credential.helper=cache --timeout=3600', 'credential', 'approve'], { input: approve })
    // The floor of each way to name a helper: a helper that only starts Node and prints the
    // answer, by name on PATH (git runs `git credential-<name>`, one more git process) and by path.
    const floor = join(pathDir, 'git-credential-floor')
    writeFileSync(floor, `#!${NODE}\nprocess.stdout.write('username=bob\\npassword=s3cret\\n')\n`, { mode: 0o755 })
    const check = exec('git', ['-c', 'credential.helper=sstash', 'credential', 'fill'], { env: helperEnv, input: gitFill })
    if (!check.stdout.toString().includes('password=s3cret')) throw new Error('bench: git credential fill through sstash did not return the password')
    out.push({
      id: 'git',
      title: '`git credential fill`, stash unlocked in the agent (cheap KDF)',
      target: 'sstash helper at most 1.3x `node -e 0`',
      commands: [
        nodeZero,
        { label: 'git credential fill, helper `sstash` (by name)', file: 'git', args: ['-c', 'credential.helper=sstash', 'credential', 'fill'], env: helperEnv, input: gitFill, check: 'target' },
        { label: 'git credential fill, helper by path (`.../git-credential-sstash`)', file: 'git', args: ['-c', `credential.helper=${join(pathDir, 'git-credential-sstash')}`, 'credential', 'fill'], env: helperEnv, input: gitFill, check: 'target' },
        { label: 'git-credential-sstash get (helper alone)', file: NODE, args: [BIN.git, 'get'], env: helperEnv, input: gitFill, check: 'target' },
        { label: 'the same without the code cache (NODE_DISABLE_COMPILE_CACHE=1)', file: NODE, args: [BIN.git, 'get'], env: { ...helperEnv, NODE_DISABLE_COMPILE_CACHE: '1' }, input: gitFill },
        { label: 'git credential fill, helper `store`', file: 'git', args: ['-c', `credential.helper=store --file=${storeFile}`, 'credential', 'fill'], input: gitFill },
        { label: 'floor by name: git credential fill, helper `floor` (only starts Node and prints the answer)', file: 'git', args: ['-c', 'credential.helper=floor', 'credential', 'fill'], input: gitFill },
        { label: 'floor by path: the same helper by its path', file: 'git', args: ['-c', `credential.helper=${floor}`, 'credential', 'fill'], input: gitFill },
        { label: 'git credential fill, helper `cache`', file: 'git', args: ['-c', 'credential.helper=cache', 'credential', 'fill'], input: gitFill },
      ],
      limit: 1.3,
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
    const check = exec(NODE, [BIN.run, '-k', 'app', '--', 'sh', '-c', 'echo $VAR_9'], { env: { SSTASH_FILE: path } })
    if (!check.stdout.toString().startsWith('value-9')) throw new Error('bench: sstash-run did not inject the variables')
    out.push({
      id: 'run',
      title: 'run `true` with 10 variables (sstash unlocked in the agent, cheap KDF; peers read the same 10 from a plaintext .env)',
      target: 'sstash-run at most 1.3x `node -e 0`, and faster than every peer',
      commands: [
        nodeZero,
        { label: '`sstash-run -k app -- true`', file: NODE, args: [BIN.run, '-k', 'app', '--', 'true'], env: { SSTASH_FILE: path }, check: 'target' },
        { label: `\`dotenv run -- true\` (dotenv ${dotenv.version})`, file: NODE, args: [dotenv.path, 'run', '-q', '-f', envFile, '--', 'true'], peer: true },
        { label: `\`dotenvx run -- true\` (@dotenvx/dotenvx ${dotenvx.version})`, file: NODE, args: [dotenvx.path, 'run', '-q', '-f', envFile, '--', 'true'], peer: true },
        { label: `\`dotenv -e .env -- true\` (dotenv-cli ${dotenvCli.version})`, file: NODE, args: [dotenvCli.path, '-e', envFile, '--', 'true'], peer: true },
        { label: `\`env-cmd -f .env true\` (env-cmd ${envCmd.version})`, file: NODE, args: [envCmd.path, '-f', envFile, 'true'], peer: true },
        // The floor for any runner written for Node: one Node start-up plus spawning the child.
        { label: '`node -e "spawn(\'true\')"` (floor: Node plus one child)', file: NODE, args: ['-e', "require('node:child_process').spawn('true', { stdio: 'inherit' })"] },
        { label: '`node --env-file=.env -e 0` (no child)', file: NODE, args: [`--env-file=${envFile}`, '-e', '0'] },
        { label: '`node -r dotenv/config -e 0` (no child)', file: NODE, args: ['-r', 'dotenv/config', '-e', '0'], env: { DOTENV_CONFIG_PATH: envFile, DOTENV_CONFIG_QUIET: 'true' }, cwd: ROOT },
      ],
      limit: 1.3,
    })
  }

  if (want('size')) {
    const commands = [nodeZero]
    const sizes = [
      ['10 keys', 10],
      ['1,000 keys', 1_000],
      ['10,000 keys', 10_000],
    ]
    for (const [label, n] of sizes) {
      const values = Array.from({ length: n }, (_, i) => [[`project${i % 10}`, `service${i % 100}`, `key${i}`], new TextEncoder().encode(`secret-value-${i}-${'s'.repeat(24)}`)])
      const path = await makeStash(`size${n}`, values)
      unlock(path)
      commands.push({ label: `\`sstash get\`, ${label}`, file: NODE, args: [BIN.sstash, 'get', '--stash', path, 'project1/service1/key1'], check: n === 10_000 ? 'get' : undefined })
      commands.push({ label: `\`sstash set\`, ${label}`, file: NODE, args: [BIN.sstash, 'set', '--stash', path, 'project1/service1/key1'], input: 'new-value', check: n === 10_000 ? 'set' : undefined })
    }
    const big = new Uint8Array(randomBytes(10 * 1024 * 1024))
    const bigPath = await makeStash('big', [[['big'], big]])
    unlock(bigPath)
    const bigInput = join(dir, 'big.bin')
    writeFileSync(bigInput, big)
    out.push({
      id: 'size',
      title: '`sstash get` / `sstash set` by stash size (unlocked in the agent, cheap KDF; keys spread over 10 x 100 subtrees)',
      target: 'get at most 1.5x and set at most 2x `node -e 0` at 10,000 keys',
      commands,
      limits: { get: 1.5, set: 2 },
    })
    out.push({
      id: 'size-10mb',
      title: 'one 10 MB value (unlocked in the agent, cheap KDF)',
      target: 'report',
      rounds: QUICK ? 3 : 6,
      commands: [
        nodeZero,
        { label: '`sstash get`, one 10 MB value', file: NODE, args: [BIN.sstash, 'get', '--stash', bigPath, 'big'] },
        { label: '`sstash set --file`, one 10 MB value', file: NODE, args: [BIN.sstash, 'set', '--stash', bigPath, 'big', '--file', bigInput] },
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
      commands: [
        nodeZero,
        { label: '`sstash unlock` (default KDF, SSTASH_PASSWORD)', file: NODE, args: [BIN.sstash, 'unlock', '--stash', path], env: { SSTASH_PASSWORD: PASSWORD } },
        { label: 'KDF alone: scrypt N=2^17, r=8, p=1 (OWASP minimum)', file: NODE, args: ['-e', scrypt17] },
        { label: 'KDF alone: PBKDF2-SHA512, 210,000 iterations (OWASP minimum)', file: NODE, args: ['-e', pbkdf] },
      ],
    })
  }

  if (want('bundle')) {
    // The same hot paths from bin/ (tsc output, one file per module) and from the esbuild bundle.
    const path = await makeStash('bundle', [
      ...ten.map(([name, value]) => [['app', name], new TextEncoder().encode(value)]),
      [['project1', 'service1', 'key1'], new TextEncoder().encode('v')],
    ])
    exec('git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], {
      env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD },
      input: 'protocol=https\nhost=example.com\nusername=bob\npassword=s3cret\n\n',
    })
    unlock(path)
    const env = { SSTASH_FILE: path }
    const commands = [nodeZero]
    for (const [variant, bins] of [['unbundled', UNBUNDLED], ['bin/, bundled', BIN]]) {
      commands.push({ label: `git-credential-sstash get (${variant})`, file: NODE, args: [bins.git, 'get'], env, input: gitFill, check: 'target' })
      commands.push({ label: `\`sstash-run -k app -- true\` (${variant})`, file: NODE, args: [bins.run, '-k', 'app', '--', 'true'], env, check: 'target' })
      commands.push({ label: `\`sstash get\`, 11 keys (${variant})`, file: NODE, args: [bins.sstash, 'get', 'project1/service1/key1'], env, check: 'get' })
      commands.push({ label: `\`sstash set\`, 11 keys (${variant})`, file: NODE, args: [bins.sstash, 'set', 'project1/service1/key1'], env, input: 'new', check: 'set' })
    }
    out.push({
      id: 'bundle',
      title: 'tsc output unbundled (ES modules) vs bin/ (one CommonJS bundle per binary, scripts/bundle.mjs), unlocked in the agent',
      target: 'helper and sstash-run 1.3x, get 1.5x, set 2x `node -e 0`',
      commands,
      limit: 1.3,
      limits: { get: 1.5, set: 2 },
    })
  }

  if (want('profile')) {
    // What start-up is made of: node itself, then loading each binary's modules without running it.
    const importOnly = (file) => ({ label: `load ${file.replace(`${SNAP}/`, '')} (no main)`, file: NODE, args: ['--input-type=module', '-e', `await import(${JSON.stringify(file)})`] })
    const requireOnly = (file) => ({ label: `load ${file.replace(`${SNAP}/`, '')} (no main)`, file: NODE, args: ['-e', `require(${JSON.stringify(file)})`] })
    const entries = [
      ...['dist/cli/sstash.js', 'dist/cli/run.js', 'dist/cli/git-credential.js'].map((f) => importOnly(join(SNAP, f))),
      ...['dist/bundle/sstash.cjs', 'dist/bundle/sstash-run.cjs', 'dist/bundle/git-credential-sstash.cjs'].map((f) => requireOnly(join(SNAP, f))),
    ]
    out.push({
      id: 'profile',
      title: 'profile: node start-up vs loading each binary\'s modules (tsc output, and the esbuild bundle when built)',
      target: 'what dominates',
      commands: [nodeZero, ...entries],
    })
  }
  if (want('nokey')) {
    const spec = `scrypt:N=${MID_KDF.N},r=${MID_KDF.r},p=${MID_KDF.p}`
    const path = await makeStash('nokey', [], spec)
    const approve = 'protocol=https\nhost=example.com\nusername=bob\npassword=s3cret\n\n'
    exec('git', ['-c', 'credential.helper=sstash', 'credential', 'approve'], { env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }, input: approve })
    const kdfAlone = `require('node:crypto').scrypt('${PASSWORD}', Buffer.alloc(32), 32, { N: ${MID_KDF.N}, r: ${MID_KDF.r}, p: ${MID_KDF.p}, maxmem: 2 ** 30 }, () => {})`
    out.push({
      id: 'nokey',
      title: `the helper without the agent (none running; SSTASH_PASSWORD, KDF ${spec})`,
      target: 'at most KDF + 1.3x `node -e 0`',
      // "Without the agent", as in CI: none runs while this group is measured, which is why it comes last.
      before: async () => {
        exec(NODE, [BIN.sstash, 'lock', '--all'], { allowFail: true })
        for (let i = 0; i < 100 && existsSync(join(runtime, 'sstash', 'agent.sock')); i++) await new Promise((r) => setTimeout(r, 20))
      },
      commands: [
        nodeZero,
        { label: `KDF alone: \`node -e crypto.scrypt(${spec})\``, file: NODE, args: ['-e', kdfAlone], baseline: 'kdf' },
        { label: 'git-credential-sstash get, SSTASH_PASSWORD', file: NODE, args: [BIN.git, 'get'], env: { SSTASH_FILE: path, SSTASH_PASSWORD: PASSWORD }, input: gitFill, check: 'kdf' },
      ],
      limit: 1.3,
    })
  }

  return out
}

// --- verdicts and output ----------------------------------------------------------------------

function verdicts(group, rows) {
  const node = rows.find((r) => r.label === nodeZero.label)
  const kdf = rows.find((_, i) => group.commands[i].baseline === 'kdf')
  return rows.map((row, i) => {
    const cmd = group.commands[i]
    if (!node || !cmd.check) return { ...row, verdict: '' }
    let limitMs
    if (cmd.check === 'kdf' && kdf) limitMs = kdf.median - node.median + group.limit * node.median
    else if (cmd.check === 'target') limitMs = group.limit * node.median
    else if (group.limits?.[cmd.check]) limitMs = group.limits[cmd.check] * node.median
    if (limitMs === undefined) return { ...row, verdict: '' }
    let verdict = row.median <= limitMs ? `meets (limit ${formatMs(limitMs)})` : `MISSED (limit ${formatMs(limitMs)})`
    if (group.id === 'run') {
      const peers = rows.filter((_, j) => group.commands[j].peer)
      const slower = peers.filter((p) => p.median <= row.median)
      verdict += slower.length === 0 ? '; faster than every peer' : `; NOT faster than ${slower.map((p) => p.label).join(', ')}`
    }
    return { ...row, verdict }
  })
}

function machine() {
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim()
    } catch {
      return 'unknown'
    }
  })()
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    nproc: cpus().length,
    node: process.version,
    git: execFileSync('git', ['--version']).toString().trim(),
    load: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    commit,
    bins: 'bin/ (dist/bundle/*.cjs)',
    rounds: ROUNDS,
    warmup: WARMUP,
  }
}

async function main() {
  const started = Date.now()
  const info = machine()
  const results = []
  let markdown = `## sstash bench\n\n${info.cpu}, ${info.nproc} CPUs, node ${info.node}, ${info.git}; load ${info.load} at start; commit ${info.commit}; binaries from ${info.bins}; ${ROUNDS} alternating rounds after ${WARMUP} warm-up.\n`
  try {
    for (const group of await groups()) {
      process.stderr.write(`bench: ${group.id}...\n`)
      await group.before?.()
      const rows = verdicts(group, measureGroup(group))
      results.push({ id: group.id, title: group.title, target: group.target, rows })
      markdown += `\n### ${group.title}\n\nTarget: ${group.target}.\n\n${markdownTable(rows)}\n`
    }
  } finally {
    exec(NODE, [BIN.sstash, 'lock', '--all'], { allowFail: true })
    exec('git', ['credential-cache', 'exit'], { allowFail: true })
    rmSync(dir, { recursive: true, force: true })
    rmSync(shimDir, { recursive: true, force: true })
    rmSync(SNAP, { recursive: true, force: true })
  }
  info.seconds = Math.round((Date.now() - started) / 1000)
  info.loadAtEnd = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
  markdown += `\nTotal ${info.seconds} s; load ${info.loadAtEnd} at end.\n`
  process.stdout.write(markdown)
  const outDir = join(ROOT, 'bench/results')
  mkdirSync(outDir, { recursive: true })
  const file = join(outDir, `${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}-${info.commit}${QUICK ? '-quick' : ''}.json`)
  writeFileSync(file, `${JSON.stringify({ machine: info, results }, null, 2)}\n`)
  process.stderr.write(`bench: wrote ${file.replace(`${ROOT}/`, '')}\n`)
}

await main()
