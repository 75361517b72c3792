/**
 * The types both stash formats share (native.ts, python.ts) and stash-file.ts returns: kept apart
 * so that the formats and the one function that picks between them do not import each other.
 */
import type { KdfParams } from './kdf.js'
import type { EnrolledRecipient } from './enroll.js'
import type { Tree } from '../tree/tree.js'

/** The two on-disk formats: sstash's own, and the Python package's. */
export type FormatName = 'native' | 'python'

/**
 * A stash file read and checked, but not yet decrypted: everything needed to derive
 * its key. No key derivation has run yet.
 */
export interface LockedStash {
  format: FormatName
  kdf: KdfParams
  salt: Uint8Array
  /** Names the (format, KDF, parameters, salt) a derived key belongs to; a password change changes it. */
  keyId: string
  /**
   * Decrypts with a key derived by {@link deriveKey}.
   * @throws {SSCryptoError} for a wrong key or a damaged file; {@link SSError} for content that is not a tree
   */
  unlock(key: Uint8Array): UnlockedStash
  /** The native format's enrolled sources (./enroll.ts); absent in the Python format, which has none. */
  enrolled?: readonly EnrolledRecipient[]
  /**
   * The file's bytes with `enrolled` as its enrolled sources, the same file key and body.
   * Absent in the Python format.
   * @throws {SSCryptoError} DECRYPT_FAILED for a wrong key
   */
  reenroll?(key: Uint8Array, enrolled: readonly EnrolledRecipient[]): Uint8Array
}

/** A decrypted stash: its tree, and a way to seal a new tree with the same keys and parameters. */
export interface UnlockedStash {
  tree: Tree
  seal(tree: Tree): Uint8Array
}

/** A brand new stash's keys: `seal` encrypts a tree into a file's bytes. */
export interface NewStash {
  key: Uint8Array
  keyId: string
  seal(tree: Tree): Uint8Array
}
