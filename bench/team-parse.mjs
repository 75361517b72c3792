// How long reading a hostile or large team stash takes, by shape (docs/TEAM.md, Limits: a 2 MB
// file of any shape is read or refused in well under a second). Run `npm run build` first, then:
//   node bench/team-parse.mjs [megabytes=2]
// Each shape is made from a real team file; the time is the best of three parses (they include
// the signature check), and the result says whether it was read or refused, and with which code:
// the full parse (a write, a merge, team verify), then a read's parse of one key (parseForRead).
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { team, teamBench } from './team-setup.mjs'

const { createTeam, parseTeamFile, parseForRead, serializeTeamFile, encodePath, openKeyring, sealValue, signMembership } = team
const size = Number(process.argv[2] ?? 2) * 1024 * 1024
const { work, identity, done } = teamBench('team-parse')
const path = join(work, 'team.sstash')
const scopes = Array.from({ length: 200 }, (_, i) => ({ name: `s${i}`, prefix: ['p', ...String(i).split('')] }))
await createTeam(path, 'alice', identity.recipient, scopes, { XDG_STATE_HOME: join(work, 'state') })
const bytes = readFileSync(path)
const [header, ...rest] = bytes.toString().split('\n')
const fill = (line) => Array.from({ length: Math.ceil(size / (line(0).length + 1)) }, (_, i) => line(i))
const pad = (i) => String(i).padStart(7, '0')

/** A valid signed file with as many values as fit, each under a deep key path in one of 200 scopes. */
function manyValues() {
  const file = parseTeamFile(bytes, 'bench')
  const ring = openKeyring(file, [identity], 'bench')
  for (let i = 0; Buffer.byteLength(serializeTeamFile(file)) < size; i++) {
    for (let k = 0; k < 500; k++) {
      const n = i * 500 + k
      const keyPath = ['p', ...String(n % 200).split(''), 'deep', 'a', 'b', 'c', `k${n}`]
      const scope = `s${n % 200}`
      file.values.set(encodePath(keyPath), sealValue(ring.key(scope), file.teamId, { path: keyPath, scope, gen: 1, since: 1, version: 1 }, new Uint8Array(8)))
    }
  }
  signMembership(file, ring.signingSeed())
  return Buffer.from(serializeTeamFile(file))
}

const shapes = {
  'members (40,000+)': () => Buffer.from([header, ...fill((i) => `member m${pad(i)} ${identity.recipient}`), ...rest].join('\n')),
  'wraps (over the bound)': () => Buffer.from([header, ...fill((i) => `wrap s1 1 m${pad(i)} YWdlLWVuY3J5cHRpb24=`), ...rest].join('\n')),
  'one long line': () => Buffer.from([header, `member a ${'x'.repeat(size)}`, ...rest].join('\n')),
  'values, valid and signed': manyValues,
  'values under a wrong anchor': () => Buffer.from(manyValues().toString().replace('@ 01\n', '@ 01\n@ 01\n')),
}

/** The best of three runs of `parse` on `file`, and what it gave. */
function best(parse, file) {
  let ms = Infinity
  let result = 'read'
  for (let run = 0; run < 3; run++) {
    const start = performance.now()
    try {
      const parsed = parse(file)
      result = parsed ? `read (${parsed.values.size} values)` : 'no such key'
    } catch (error) {
      result = `refused ${error.code}`
    }
    ms = Math.min(ms, performance.now() - start)
  }
  return `${result}\t${ms.toFixed(0)}`
}

console.log(`shape\tbytes\tfull parse\tbest of 3 (ms)\tread of one key\tbest of 3 (ms)`)
for (const [name, make] of Object.entries(shapes)) {
  const file = make()
  const full = best((bytes) => parseTeamFile(bytes, 'bench'), file)
  const one = best((bytes) => parseForRead(bytes, 'bench', [encodePath(['p', '1', 'deep', 'a', 'b', 'c', 'k1'])]), file)
  console.log(`${name}\t${file.length}\t${full}\t${one}`)
}
done()
