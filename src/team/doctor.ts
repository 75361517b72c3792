/**
 * What `sstash doctor` says about a team stash, with no identity: its members and scopes, the
 * values a removed member could read that nobody has set since, and unresolved conflicts.
 */
import { SSError } from '../errors.js'
import type { Finding } from '../finding.js'
import { formatKeyPath } from '../tree/key-path.js'
import { exposedValues, staleValues } from './listing.js'
import { parseTeamFile } from './parse.js'
import { teamFingerprint } from './signing.js'
import { conflictList } from './merge.js'

const some = (paths: string[]): string => `${paths.slice(0, 5).join(', ')}${paths.length > 5 ? `, and ${paths.length - 5} more` : ''}`

/** The findings for a team stash's bytes. */
export function teamFindings(real: string, bytes: Uint8Array): Finding[] {
  let file
  try {
    file = parseTeamFile(bytes, real)
  } catch (error) {
    if (error instanceof SSError) return [{ severity: 'problem', what: error.message }]
    throw error
  }
  const out: Finding[] = [{ severity: 'ok', what: `team stash ${teamFingerprint(file)}: ${file.members.size} members (admins ${[...file.admins].join(', ')}), scopes ${[...file.scopes.keys()].join(', ')}` }]
  const stale = staleValues(file).map((v) => formatKeyPath(v.path))
  if (stale.length > 0)
    out.push({
      severity: 'problem',
      what: `${stale.length} values were set under an old key (a branch cut before a removal, or a removed member) and are refused: ${some(stale)}`,
      fix: 'check each value, then `sstash set` it again (`sstash team ls` lists them as "set again")',
    })
  const exposed = exposedValues(file).map((v) => formatKeyPath(v.path))
  if (exposed.length > 0)
    out.push({
      severity: 'warning',
      what: `${exposed.length} values a removed member could read have not been set since: ${some(exposed)}`,
      fix: 'rotate each secret where it was issued, then `sstash set` it (`sstash team exposed` lists them; old values stay in git history)',
    })
  const conflicts = conflictList(file)
  if (conflicts.length > 0)
    out.push({ severity: 'warning', what: `${conflicts.length} key paths have unresolved merge conflicts: ${some(conflicts)}`, fix: 'sstash team resolve <keypath> --ours (or --theirs)' })
  return out
}
