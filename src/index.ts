/**
 * sstash's public API, root entry (`import { SecureStash } from 'sstash'`): a stash on disk, how
 * the binaries open one, key paths and errors. The rest sits in sub-paths, as noble's does:
 * `sstash/git` (the credential protocol and mapping), `sstash/env` (variables, `.env`, reference
 * files, templates), `sstash/team` (the team stash) and `sstash/agent` (the agent's client).
 * @module sstash
 */
export { SecureStash, type OpenOptions, type StashKey, type StashInfo } from './store/secure-stash.js'
export { SSError, SSKeyError, SSValueError, SSCryptoError, type SSErrorCode } from './errors.js'
export { Tree, type Entry } from './tree/tree.js'
export { parseKdfSpec, type KdfParams } from './format/kdf.js'
export { parseKeyPath, formatKeyPath } from './tree/key-path.js'
export { openStash, openPersonalStash, readStash, writeValues, type OpenStashOptions, type OpenedStash } from './unlock/open.js'
export { SECRET_ENV_VARS } from './env/secret-variables.js'
export { storeFile, extractFile, storeDirectory, extractDirectory } from './store/files.js'
export { stashPath } from './locations.js'
