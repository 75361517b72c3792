/**
 * `sstash identity --import FILE`: keeps an existing key (the ssh key a team added you with, an
 * age identity) in the personal stash, where team stashes find it (src/unlock/identity-source.ts),
 * so neither SSTASH_IDENTITY_FILE nor the key's passphrase is needed again: the personal stash
 * opens as it always does (the agent, an enrolled source, its password).
 */
import { SSError, ioError } from '../errors.js'
import { randomBytes } from '../crypto/primitives.js'
import { encodeOpenSshEd25519, isOpenSshKey } from '../format/openssh-key.js'
import { readRegularFile } from '../fs/read.js'
import { IDENTITY_KEY, personalStashPath } from './identity-source.js'
import { parseIdentities } from '../team/keys.js'
import { openPersonalStash } from './open.js'
import { unlockSshKey } from './ssh-key.js'

type Env = Record<string, string | undefined>

/**
 * Stores the identity in `file` (an OpenSSH ed25519 key, decrypted with its passphrase if it has
 * one, or an age identity file) as the personal stash's identity.
 * @param force - replace a different identity already there
 * @returns its public key, and whether it was already the stored one
 * @throws {SSError} BAD_IDENTITY, USAGE (another identity is stored and `force` is not set), and as openPersonalStash
 */
export async function importIdentity(file: string, force: boolean, env: Env = process.env): Promise<{ recipient: string; unchanged: boolean; where: string }> {
  let bytes: Uint8Array | undefined
  try {
    bytes = readRegularFile(file, 1024 * 1024)
  } catch (error) {
    throw error instanceof SSError ? error : ioError('read', file, error)
  }
  if (bytes === undefined) throw new SSError(`cannot read ${file}: no such file or directory`, 'BAD_IDENTITY')
  const content = Buffer.from(bytes).toString('utf8')
  const secret = isOpenSshKey(content) ? encodeOpenSshEd25519(await unlockSshKey(file, content, { env }), randomBytes(4)) : content
  const [identity] = parseIdentities(secret, file)
  if (!identity) throw new SSError(`${file} holds no identity`, 'BAD_IDENTITY')
  const where = personalStashPath(env)
  const stash = await openPersonalStash(where, { env })
  const existing = await stash.view((tree) => tree.find(IDENTITY_KEY)?.value)
  if (existing !== undefined) {
    const [current] = parseIdentities(Buffer.from(existing).toString('utf8'), `the identity in ${where}`)
    if (current?.recipient === identity.recipient) return { recipient: identity.recipient, unchanged: true, where }
    if (!force)
      throw new SSError(`your personal stash ${where} already holds another identity`, 'USAGE', {
        hint: '`sstash identity` prints it; add --force to replace it (team stashes that have only the old key then no longer open)',
      })
  }
  await stash.writeValue(IDENTITY_KEY, new Uint8Array(Buffer.from(secret)))
  return { recipient: identity.recipient, unchanged: false, where }
}
