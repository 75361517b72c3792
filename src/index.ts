export { SecureStash, type OpenOptions, type StashKey, type StashInfo } from './store/secure-stash.js'
export { SSError, SSKeyError, SSValueError, SSCryptoError, type SSErrorCode } from './errors.js'
export { Tree, TreeNode, type Entry } from './tree/tree.js'
export {
  parseKdfSpec,
  formatKdfSpec,
  DEFAULT_SCRYPT,
  DEFAULT_PBKDF2,
  type KdfParams,
  type ScryptParams,
  type Pbkdf2Params,
} from './format/kdf.js'
export { parseKeyPath, formatKeyPath } from './tree/key-path.js'
export { parseCredential, formatCredential, parseCredentialUrl, type Credential } from './git/protocol.js'
export { credentialKey, findCredentials, storeCredential, eraseCredentials, importGitCredentials, parseMappingRules, type StoredCredential, type MappingRule } from './git/mapping.js'
export { openStash, openWithAgent, getPassword, type PasswordOptions } from './unlock/open.js'
export { SECRET_ENV_VARS } from './unlock/secret-variables.js'
export { agentUnlock, agentLock, agentStatus, parseDuration, DEFAULT_AGENT_TIMEOUT_MS, type AgentEntry, type AgentStatus } from './agent/client.js'
export { readStash, writeValues } from './unlock/open.js'
export { envFromEntries, envFromSelections, childEnv, relativeName, type EnvVar, type EnvOptions, type Selection } from './env/naming.js'
export { DANGEROUS_FAMILIES, dangerousFamily, isDangerousName, type NameFamily } from './env/dangerous-names.js'
export { selectEnvironment, type SelectOptions, type SelectedEnvironment } from './env/select.js'
export { findProjectConfig, type ProjectConfig, type FoundConfig, type ConfigLookup } from './env/project-config.js'
export { parseDotenv, formatDotenv, formatEnv, EXPORT_FORMATS, type ExportFormat } from './env/dotenv.js'
export { diagnose } from './store/doctor.js'
export { stashPath, dataDir, configDir, agentDir } from './locations.js'
