export { SecureStash, type OpenOptions, type StashKey, type StashInfo } from './store/secure-stash.js'
export { SSError, SSKeyError, SSValueError, SSCryptoError, type SSErrorCode } from './errors.js'
export { Tree, TreeNode, type Entry } from './tree/tree.js'
export {
  parseKdfSpec,
  formatKdfSpec,
  DEFAULT_SCRYPT,
  DEFAULT_PBKDF2,
  isWeakKdf,
  type KdfParams,
  type ScryptParams,
  type Pbkdf2Params,
} from './format/kdf.js'
export { parseKeyPath, formatKeyPath } from './tree/key-path.js'
export { parseCredential, formatCredential, parseCredentialUrl, type Credential } from './git/protocol.js'
export {
  credentialKey,
  findCredentials,
  usableCredential,
  fieldsToStore,
  storeCredential,
  eraseCredentials,
  importGitCredentials,
  parseMappingRules,
  loadMappingRules,
  mappingRulesPath,
  findByRules,
  DEFAULT_PREFIX,
  type StoredCredential,
  type MappingRule,
} from './git/mapping.js'
export {
  openStash,
  openPersonalStash,
  openWithAgent,
  openWithPassword,
  shareWithAgent,
  requireStash,
  agentTimeoutFromEnv,
  readStash,
  writeValues,
  PASSWORD_TRIES,
  type OpenStashOptions,
  type OpenedWithPassword,
  type OpenedStash,
} from './unlock/open.js'
export { getPassword, readPassword, passwordFromEnvironment, type PasswordOptions, type PasswordSource, type SourcedPassword } from './unlock/password.js'
export { SECRET_ENV_VARS } from './unlock/secret-variables.js'
export { agentUnlock, agentLock, agentStatus, type AgentStatus } from './agent/client.js'
export { parseDuration, DEFAULT_AGENT_TIMEOUT_MS } from './agent/duration.js'
export type { AgentEntry } from './agent/protocol.js'
export { envFromEntries, envFromSelections, childEnv, relativeName, type EnvVar, type EnvOptions, type Selection } from './env/naming.js'
export { DANGEROUS_FAMILIES, dangerousFamily, isDangerousName, type NameFamily } from './env/dangerous-names.js'
export { selectEnvironment, type SelectOptions, type SelectedEnvironment } from './env/select.js'
export { findProjectConfig, type ProjectConfig, type FoundConfig, type ConfigLookup } from './env/project-config.js'
export { parseDotenv, formatDotenv, formatEnv, EXPORT_FORMATS, type ExportFormat } from './env/dotenv.js'
export { diagnose, type Finding, type Severity } from './store/doctor.js'
export { resolveStashPath } from './store/read.js'
export { stashPath, dataDir, configDir, agentDir } from './locations.js'
export {
  parseReferenceFile,
  parseReferenceFiles,
  mergeReferenceFiles,
  referenceKeys,
  resolveReferences,
  formatReferenceFile,
  formatReference,
  SSReferenceError,
  type FileEntry,
  type ReferenceFile,
  type ReferenceProblem,
  type ResolvedVar,
  type KeyReader,
} from './env/references.js'
export { readReferenceFiles } from './env/reference-files.js'
export { parseTemplate, renderTemplate, templateKeys, type Template, type Placeholder } from './env/template.js'
export { storeFile, extractFile, storeDirectory, extractDirectory } from './store/files.js'
export { TeamStash, readTeamFile, type TeamOpenOptions } from './team/team-stash.js'
export { createTeam, addMember, removeMember, exposedValues, listMembers, staleValues, resolveConflict, type ScopeSpec, type Removal, type MemberInfo } from './team/membership.js'
export { teamFingerprint } from './team/signing.js'
export { loadIdentities, ensureIdentity } from './team/identity-source.js'
export { parseIdentities, parseRecipient } from './team/keys.js'
export { mergeTeamFiles, type MergeResult } from './team/merge.js'
