// The set-up the team benches (team-merge.mjs, team-parse.mjs) share: the team modules of the
// build (run `npm run build` first), a scratch folder, and a fresh age identity.
import { mkdtempSync, rmSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dist = join(import.meta.dirname, '../dist/team')
/** The built team modules the benches use. */
export const team = {
  ...(await import(join(dist, 'keys.js'))),
  ...(await import(join(dist, 'membership.js'))),
  ...(await import(join(dist, 'parse.js'))),
  ...(await import(join(dist, 'parse-read.js'))),
  ...(await import(join(dist, 'format.js'))),
  ...(await import(join(dist, 'keyring.js'))),
  ...(await import(join(dist, 'scope-keys.js'))),
  ...(await import(join(dist, 'signing.js'))),
}

/**
 * A scratch folder named `<name>-...` under the system's tmp, and a new identity (an age
 * X25519 key) parsed as the team code takes it; `done()` removes the folder.
 */
export function teamBench(name) {
  const work = mkdtempSync(join(tmpdir(), `${name}-`))
  const [identity] = team.parseIdentities(team.generateIdentity(new Uint8Array(randomBytes(32))), 'bench')
  return { work, identity, done: () => rmSync(work, { recursive: true, force: true }) }
}
