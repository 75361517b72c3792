// How often git's own merge (no sstash driver, as a hosting service's merge button) conflicts on
// a team stash, by real git: `git merge-file`, the three-way merge `git merge` runs on each file.
// Run `npm run build` first, then:
//   node bench/team-merge.mjs [trials=500] [sizes=2,10,100,1000]
// For each size n (values in the file) and each trial: a base file with n values under random
// key paths (a new one every 25 trials), two branches made from it by the library, and git's merge.
//   add/add        each branch adds one new key
//   change/change  each branch changes a different existing key
//   add/remove     one branch adds a key, the other removes another
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { team, teamBench } from './team-setup.mjs'

const { createTeam, parseTeamFile, serializeTeamFile, encodePath, openKeyring, sealValue, tagTombstone } = team
const trials = Number(process.argv[2] ?? 500)
const sizes = (process.argv[3] ?? '2,10,100,1000').split(',').map(Number)
const { work, identity, done } = teamBench('team-merge')
const identities = [identity]
const env = { XDG_STATE_HOME: join(work, 'state') }
const path = join(work, 'team.sstash')
await createTeam(path, 'alice', identities[0].recipient, [], env)
const empty = readFileSync(path)
const ring = openKeyring(parseTeamFile(empty, 'bench'), identities, 'bench')
const key = ring.key('default')
const word = () => randomBytes(4).toString('hex')
// Key paths as people name them: a few top-level groups, then names.
const newPath = () => [['dev', 'prod', 'ci'][Math.floor(Math.random() * 3)], ['api', 'db', 'cloud'][Math.floor(Math.random() * 3)], word()]

// As a write does: the key path's next version (docs/TEAM.md, Versions).
const nextVersion = (file, enc) => Math.max(file.values.get(enc)?.version ?? 0, file.tombstones.get(enc)?.version ?? 0) + 1

function put(file, keyPath, text) {
  const enc = encodePath(keyPath)
  file.values.set(enc, sealValue(key, file.teamId, { path: keyPath, scope: 'default', gen: 1, since: 1, version: nextVersion(file, enc) }, new Uint8Array(Buffer.from(text))))
  file.tombstones.delete(enc)
}

function remove(file, enc) {
  const { path } = file.values.get(enc)
  file.tombstones.set(enc, tagTombstone(key, file.teamId, { path, scope: 'default', gen: 1, version: nextVersion(file, enc) }))
  file.values.delete(enc)
}
const copy = (bytes) => parseTeamFile(bytes, 'bench')

function baseOf(n) {
  const file = copy(empty)
  for (let i = 0; i < n; i++) put(file, newPath(), `value ${i}`)
  return serializeTeamFile(file)
}

function merges(base, ours, theirs) {
  const files = ['base', 'ours', 'theirs'].map((name) => join(work, name))
  writeFileSync(files[0], base)
  writeFileSync(files[1], ours)
  writeFileSync(files[2], theirs)
  // Exit status: the number of conflicts (0 when git merged it).
  const { status } = spawnSync('git', ['merge-file', '-q', '-p', files[1], files[0], files[2]], { stdio: ['ignore', 'ignore', 'ignore'] })
  return status === 0
}

const experiments = {
  'add/add': (base) => {
    const [a, b] = [copy(base), copy(base)]
    put(a, newPath(), 'a')
    put(b, newPath(), 'b')
    return [a, b]
  },
  'change/change': (base) => {
    const [a, b] = [copy(base), copy(base)]
    const paths = [...a.values.values()].map((v) => v.path)
    const i = Math.floor(Math.random() * paths.length)
    const j = (i + 1 + Math.floor(Math.random() * (paths.length - 1))) % paths.length
    put(a, paths[i], 'changed a')
    put(b, paths[j], 'changed b')
    return [a, b]
  },
  'add/remove': (base) => {
    const [a, b] = [copy(base), copy(base)]
    put(a, newPath(), 'a')
    const victim = [...b.values.keys()][Math.floor(Math.random() * b.values.size)]
    remove(b, victim)
    return [a, b]
  },
}

console.log(`git ${execFileSync('git', ['--version'], { encoding: 'utf8' }).trim().split(' ')[2]}; ${trials} trials per cell (git merge-file, no driver)`)
console.log(['values', ...Object.keys(experiments)].join('\t'))
for (const n of sizes) {
  const row = [String(n)]
  for (const make of Object.values(experiments)) {
    let conflicts = 0
    let base
    for (let t = 0; t < trials; t++) {
      // A new random base every 25 trials: the keys each trial adds or picks are random anyway.
      if (t % 25 === 0) base = baseOf(n)
      const [a, b] = make(base)
      if (!merges(base, serializeTeamFile(a), serializeTeamFile(b))) conflicts++
    }
    row.push(`${conflicts}/${trials} (${((100 * conflicts) / trials).toFixed(1)}%)`)
  }
  console.log(row.join('\t'))
}
done()
