export { SecureStash, type OpenOptions, type StashKey, type StashInfo } from './stash.js'
export { SSError, SSKeyError, SSValueError, SSCryptoError, type SSErrorCode } from './errors.js'
export { Tree, TreeNode, type Entry } from './tree.js'
export {
  parseKdfSpec,
  formatKdfSpec,
  DEFAULT_SCRYPT,
  DEFAULT_PBKDF2,
  type KdfParams,
  type ScryptParams,
  type Pbkdf2Params,
} from './kdf.js'
export { parseKeyPath, formatKeyPath } from './keypath.js'
export { parseCredential, formatCredential, parseCredentialUrl, type Credential } from './credential-protocol.js'
export { credentialKey, findCredentials, storeCredential, eraseCredentials, importGitCredentials, parseMappingRules, type StoredCredential, type MappingRule } from './credential-map.js'
export { openStash, openWithAgent, getPassword, PASSWORD_ENV_VARS, type PasswordOptions } from './unlock.js'
export { agentUnlock, agentLock, agentStatus, agentDir, parseDuration, DEFAULT_AGENT_TIMEOUT_MS, type AgentEntry, type AgentStatus } from './agent-client.js'
export { readStash, writeValues } from './unlock.js'
export { envFromEntries, envFromSelections, childEnv, DANGEROUS_NAMES, type EnvVar, type EnvOptions, type Selection } from './env.js'
export { parseDotenv, formatDotenv, formatEnv, EXPORT_FORMATS, type ExportFormat } from './dotenv.js'
export { diagnose } from './doctor.js'
