#!/usr/bin/env node
/**
 * `node bench/guard.mjs` (after `npm run build`): the leak guard's speed, with real git and the
 * built `sstash` binary, wall time from spawn to exit as a hook waits for it.
 *
 *   staged:  `sstash guard scan --staged` on a 1 MB staged diff, 1,000 stash values (goal: <= 1 s)
 *   history: `sstash guard scan --history` on repositories of 2,500, 5,000 and 10,000 commits
 *            (made with git fast-import, ~1 KB added per commit): time per MB should stay flat
 *
 *   BENCH_ROUNDS=n   runs per row (default 5; the median is reported)
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes, randomInt } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SSTASH = join(ROOT, 'bin/sstash.cjs')
const { SecureStash, parseKdfSpec } = await import(join(ROOT, 'dist/index.js'))

const dir = mkdtempSync(join(tmpdir(), 'sstash-bench-guard-'))
const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), XDG_RUNTIME_DIR: join(dir, 'run'), SSTASH_FILE: join(dir, 'stash.sstash'), SSTASH_PASSWORD: 'bench password' }
delete env.NODE_EXTRA_CA_CERTS
mkdirSync(env.XDG_RUNTIME_DIR, { mode: 0o700 })

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const token = (n) => Array.from({ length: n }, () => ALPHABET[randomInt(ALPHABET.length)]).join('')

// 1,000 values of 16 to 64 characters, fingerprinted as `sstash guard refresh` does.
const values = Array.from({ length: 1000 }, () => token(16 + randomInt(49)))
const stash = await SecureStash.open(env.SSTASH_FILE, env.SSTASH_PASSWORD, { kdf: parseKdfSpec('scrypt:N=1024,r=8,p=1') })
await stash.update((tree) => values.forEach((v, i) => tree.write(['bench', `v${i}`], new TextEncoder().encode(v))))
execFileSync(process.execPath, ['--', SSTASH, 'guard', 'refresh'], { env, stdio: 'ignore' })

const git = (cwd, args, input) => execFileSync('git', args, { cwd, env, input, maxBuffer: 1 << 30 })

// CPU time (user + system, the scan and its git) as well as wall time: on a busy machine the
// wall time measures the neighbours. /usr/bin/time reports it when it is installed.
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function time(cwd, args, expect) {
  const wall = []
  const cpu = []
  for (let i = 0; i < ROUNDS + 1; i++) {
    const command = [process.execPath, '--', SSTASH, 'guard', 'scan', ...args]
    const start = process.hrtime.bigint()
    const result = TIME ? spawnSync(TIME, ['-f', 'cpu %U %S', ...command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }) : spawnSync(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const ms = Number(process.hrtime.bigint() - start) / 1e6
    if (result.status !== 1 || result.stdout.toString().split('\n').filter(Boolean).length !== expect)
      throw new Error(`bench: guard scan ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
    const used = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(result.stderr.toString())
    if (i > 0) {
      wall.push(ms)
      if (used) cpu.push((Number(used[1]) + Number(used[2])) * 1000)
    }
  }
  return { ms: median(wall), cpu: cpu.length > 0 ? median(cpu) : undefined }
}
const show = ({ ms, cpu }) => `${ms.toFixed(0)} ms${cpu === undefined ? '' : ` (CPU ${cpu.toFixed(0)} ms)`}`

// A 1 MB staged diff: lines of random text, five of them holding a value.
const staged = join(dir, 'staged')
mkdirSync(staged)
git(staged, ['init', '-q'])
const lines = []
while (lines.join('\n').length < 1_000_000) lines.push(randomBytes(48).toString('base64'))
for (let i = 0; i < 5; i++) lines[randomInt(lines.length)] = `token = ${values[randomInt(values.length)]}`
writeFileSync(join(staged, 'big.txt'), `${lines.join('\n')}\n`)
git(staged, ['add', 'big.txt'])
const stagedMs = time(staged, ['--staged'], new Set(lines.filter((l) => l.startsWith('token'))).size)

// Histories made by fast-import: each commit adds ~1 KB to its own file; one commit holds a value.
function history(commits) {
  const repo = join(dir, `history-${commits}`)
  mkdirSync(repo)
  git(repo, ['init', '-q'])
  const parts = []
  for (let c = 1; c <= commits; c++) {
    const body = c === Math.floor(commits / 2) ? `secret ${values[0]}\n` : `${randomBytes(768).toString('base64')}\n`
    parts.push(`commit refs/heads/main\ncommitter B <b@example.com> ${1700000000 + c} +0000\ndata 2\nc\nM 644 inline f${c % 100}.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`)
  }
  git(repo, ['fast-import', '--quiet'], parts.join(''))
  const bytes = Number(git(repo, ['log', '-p', '--no-renames', '-U0', '--format=%H', 'main']).length)
  return { commits, mb: bytes / 1e6, ...time(repo, ['--history', 'main'], 1) }
}
const histories = (process.env.BENCH_STAGED_ONLY ? [] : [2500, 5000, 10000]).map(history)

const out = [
  '| row | median wall (CPU) | goal |',
  '|---|---|---|',
  `| \`guard scan --staged\`, 1 MB diff, 1,000 values | ${show(stagedMs)} | <= 1000 ms |`,
  ...histories.map((h) => `| \`guard scan --history\`, ${h.commits} commits, ${h.mb.toFixed(1)} MB of patch | ${show(h)}, ${((h.cpu ?? h.ms) / h.mb).toFixed(0)} ms/MB | linear: ms/MB flat |`),
]
process.stdout.write(`${out.join('\n')}\n`)
if (!process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true })
