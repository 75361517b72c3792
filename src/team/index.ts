/**
 * `sstash/team`: the team stash, its members and scopes, identities, and the merge driver.
 * @module sstash/team
 */
export { TeamStash, readTeamFile, type TeamOpenOptions } from './team-stash.js'
export { createTeam, addMember, removeMember, exposedValues, listMembers, staleValues, resolveConflict, type ScopeSpec, type Removal, type MemberInfo } from './membership.js'
export { signingKeyFingerprint, teamFingerprint } from './signing.js'
export { loadIdentities, ensureIdentity } from '../unlock/identity-source.js'
export { parseIdentities, parseRecipient } from './keys.js'
export { mergeTeamFiles, type MergeResult } from './merge.js'
export { gitSetup, type GitSetup } from './git-setup.js'
