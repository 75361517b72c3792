/**
 * What `git-credential-sstash get` answers, from a stash tree: the one place that decides it, so
 * that the helper (reading the tree itself) and the agent (answering the helper's `credential`
 * request, src/agent/credential.ts) give the same lines for the same request.
 */
import type { Tree } from '../tree/tree.js'
import type { Credential } from './protocol.js'
import { findCredentials, usableCredential, type StoredCredential } from './mapping.js'
import { findByRules, type MappingRule } from './mapping-rules.js'

/** The `state[]` value the helper hands git with a credential it served. */
export const SERVED_STATE = 'sstash:served'

/** What `get` prints for a found credential. */
function response(found: StoredCredential, request: Credential): Partial<Credential> {
  const out: Partial<Credential> = { capability: [], state: [] }
  if (found.credential !== undefined) {
    out.capability?.push('authtype')
    out.authtype = found.authtype
    out.credential = found.credential
  }
  if (request.capability.includes('state')) {
    out.capability?.push('state')
    out.state?.push(SERVED_STATE)
  }
  out.username = found.username
  out.password = found.password
  out.password_expiry_utc = found.password === undefined ? undefined : found.password_expiry_utc
  out.oauth_refresh_token = found.password === undefined ? undefined : found.oauth_refresh_token
  return out
}

/**
 * The answer to a `get` request: the first usable credential of the default layout under
 * `prefix`, else the first mapping rule's, as git's attributes to print.
 * @param tree - the stash tree (at least the subtrees at `prefix` and at each rule's key)
 * @param request - git's parsed request, with a protocol and a host
 * @param prefix - the layout's prefix
 * @param rules - the mapping rules
 * @returns the attributes to print, or undefined when nothing is found
 */
export function answerGet(tree: Tree, request: Credential, prefix: readonly string[], rules: readonly MappingRule[]): Partial<Credential> | undefined {
  const authtype = request.capability.includes('authtype')
  const found =
    findCredentials(tree, request, { prefix })
      .map((stored) => usableCredential(stored, { authtype }))
      .find((usable) => usable !== undefined) ?? findByRules(tree, request, rules)
  return found && response(found, request)
}
