/**
 * `sstash/git`: the git credential protocol (pure) and how credentials map onto key paths, as
 * `git-credential-sstash` uses them.
 * @module sstash/git
 */
export { parseCredential, formatCredential, parseCredentialUrl, type Credential } from './protocol.js'
export {
  credentialKey,
  findCredentials,
  storeCredential,
  eraseCredentials,
  type StoredCredential,
} from './mapping.js'
export { parseMappingRules, loadMappingRules, type MappingRule } from './mapping-rules.js'
export { importGitCredentials, type GitCredentialsImport } from './credentials-file.js'
