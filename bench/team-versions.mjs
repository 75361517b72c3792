// What this clone's memory of key path versions (src/team/path-versions.ts) costs a team `get`:
// loading the team's versions file and finding one key path in it, at 1,000 and 10,000
// remembered key paths; and what learning one new version and saving it costs (a write under
// the file's lock, merged with what is on disk). Run `npm run build` first, then:
//   node bench/team-versions.mjs [sizes=1000,10000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const { PathVersions } = await import(join(import.meta.dirname, '../dist/team/path-versions.js'))
const sizes = (process.argv[2] ?? '1000,10000').split(',').map(Number)
const work = mkdtempSync(join(tmpdir(), 'team-versions-'))
const stateFile = join(work, 'sstash', 'team-seen')
const best = (runs, fn) => {
  let min = Infinity
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    fn()
    min = Math.min(min, performance.now() - start)
  }
  return min
}

console.log('key paths\tload + one lookup (ms, best of 50)\tlookup of a loaded file (µs)\tlearn one + save (ms, best of 10)\tfile bytes')
for (const n of sizes) {
  const team = `bench${n}`.padEnd(22, 'x')
  const fill = new PathVersions(stateFile, team)
  for (let i = 0; i < n; i++) fill.learn(`/dev/k${i}`, 1 + (i % 7))
  await fill.save()
  const get = best(50, () => new PathVersions(stateFile, team).seen(`/dev/k${n >> 1}`))
  const loaded = new PathVersions(stateFile, team)
  loaded.seen('/dev/k0')
  const lookup = best(50, () => loaded.seen(`/dev/k${n >> 2}`)) * 1000
  let save = Infinity
  for (let i = 0; i < 10; i++) {
    const one = new PathVersions(stateFile, team)
    one.learn(`/dev/new${i}`, 1)
    const start = performance.now()
    await one.save()
    save = Math.min(save, performance.now() - start)
  }
  const { statSync } = await import('node:fs')
  console.log(`${n}\t${get.toFixed(3)}\t${lookup.toFixed(1)}\t${save.toFixed(2)}\t${statSync(fill.path).size}`)
}
rmSync(work, { recursive: true, force: true })
