/**
 * The entry the ordinary opening code (unlock/open.ts) uses when a stash file turns out to be a
 * team stash: the identity from its sources, then the team stash opened with it. Imported
 * lazily, so a personal stash never loads the team code.
 */
import { loadIdentities } from './identity-source.js'
import { readTeamTree, TeamStash, type StashPath } from '../team/team-stash.js'
import type { Tree } from '../tree/tree.js'

type Env = Record<string, string | undefined>

/** Opens a team stash with the member's identity. @throws as loadIdentities and TeamStash.open */
export async function openTeamStash(path: StashPath, env: Env = process.env): Promise<TeamStash> {
  return TeamStash.open(path, await loadIdentities(env), env)
}

/**
 * The tree of a team stash for a command that reads `keys` (only their values decrypted),
 * after checking that none of them is a value the member cannot read.
 * @throws {SSKeyError} NO_ACCESS, TEAM_CONFLICT; as {@link openTeamStash}
 */
export async function readTeamStash(path: StashPath, keys: readonly (readonly string[])[], env: Env = process.env): Promise<Tree> {
  return readTeamTree(path, await loadIdentities(env), keys, env)
}
