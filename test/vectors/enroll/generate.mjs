// Regenerates the enrolled-source vectors: npm run build && node test/vectors/enroll/generate.mjs
// A native stash with an ssh-agent recipient (a fixed ed25519 key, whose signatures are
// deterministic, so the whole chain is reproducible from the values here) and a keyring
// recipient, with every intermediate value; and fail_* files changed in one way each.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createStash, parseStash } from '../../../dist/format/stash-file.js'
import { deriveKey } from '../../../dist/format/kdf.js'
import { keyringWrapKey, sshAgentWrapKey, sshSignedData, wrapStashKey } from '../../../dist/format/enroll.js'
import { Tree } from '../../../dist/tree/tree.js'

const here = import.meta.dirname
for (const name of readdirSync(here)) if (name.endsWith('.sstash')) rmSync(join(here, name))
const hex = (b) => Buffer.from(b).toString('hex')
const str = (b) => {
  const n = Buffer.alloc(4)
  n.writeUInt32BE(b.length)
  return Buffer.concat([n, b])
}
const vectors = []
const password = 'correct horse battery staple'
const seed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' })
const publicKey = createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32)
const keyBlob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(publicKey)])
const challenge = Buffer.alloc(32, 0x5a)
const signedData = sshSignedData(challenge)
// What ssh-agent returns for an ed25519 key: string "ssh-ed25519" || string signature.
const signature = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(sign(null, signedData, key))])
const sshWrap = sshAgentWrapKey(signature, challenge)
const keyringSecret = Buffer.alloc(32, 0x11)
const keyringId = Buffer.alloc(16, 0x22)
const keyringWrap = keyringWrapKey(keyringSecret, keyringId)

const tree = new Tree()
tree.write(['dev', 'token'], new TextEncoder().encode('tok-1'))
const kdf = { name: 'scrypt', N: 1024, r: 8, p: 1 }
const fresh = await createStash(kdf, password)
const plain = fresh.seal(tree)
const locked = parseStash(plain, 'plain')
const stashKey = await deriveKey(locked.kdf, password, locked.salt)
const enrolled = [
  { type: 'ssh-agent', key: keyBlob, challenge, wrappedKey: wrapStashKey(sshWrap, stashKey) },
  { type: 'keyring', id: keyringId, wrappedKey: wrapStashKey(keyringWrap, stashKey) },
]
const good = locked.reenroll(stashKey, enrolled)
writeFileSync(join(here, 'good_enrolled.sstash'), good)
vectors.push({
  file: 'good_enrolled.sstash',
  password,
  expect: 'ok',
  stash_key: hex(stashKey),
  values: [{ key: ['dev', 'token'], value_hex: hex(new TextEncoder().encode('tok-1')) }],
  ssh_agent: { ed25519_seed: hex(seed), key_blob: hex(keyBlob), challenge: hex(challenge), signed_data: hex(signedData), signature_blob: hex(signature), wrap_key: hex(sshWrap) },
  keyring: { secret: hex(keyringSecret), secret_as_stored: keyringSecret.toString('base64'), id: hex(keyringId), wrap_key: hex(keyringWrap) },
})

const text = (bytes) => Buffer.from(bytes).toString('latin1')
const editHeader = (bytes, edit) => {
  const s = text(bytes)
  const nl = s.indexOf('\n', 9)
  const header = JSON.parse(s.slice(9, nl))
  edit(header)
  return new Uint8Array(Buffer.from(s.slice(0, 9) + JSON.stringify(header) + s.slice(nl), 'latin1'))
}
function fail(file, change, expect, why, code) {
  writeFileSync(join(here, file), change(good))
  vectors.push({ file, password, expect, why, ...(code ? { code } : {}) })
}
const ecdsaBlob = Buffer.concat([str(Buffer.from('ecdsa-sha2-nistp256')), str(Buffer.from('nistp256')), str(Buffer.alloc(65, 4))]).toString('base64')
fail('fail_enrolled_unknown_type.sstash', (b) => editHeader(b, (h) => (h.recipients[2].type = 'tpm')), 'SSError', 'an enrolled type this version does not know', 'UNSUPPORTED_FORMAT')
fail('fail_enrolled_ecdsa_key.sstash', (b) => editHeader(b, (h) => (h.recipients[1].key = ecdsaBlob)), 'SSError', 'an ssh-agent recipient with a key whose signatures are not deterministic', 'NOT_A_STASH')
fail('fail_enrolled_keyring_twice.sstash', (b) => editHeader(b, (h) => h.recipients.push(h.recipients[2])), 'SSError', 'the keyring enrolled twice', 'NOT_A_STASH')
fail('fail_enrolled_scrypt_second.sstash', (b) => editHeader(b, (h) => h.recipients.push(h.recipients[0])), 'SSError', 'a second password recipient', 'NOT_A_STASH')
fail('fail_enrolled_short_challenge.sstash', (b) => editHeader(b, (h) => (h.recipients[1].challenge = h.recipients[1].challenge.slice(0, 20))), 'SSError', 'a challenge that is not 32 bytes', 'NOT_A_STASH')
fail('fail_enrolled_extra_field.sstash', (b) => editHeader(b, (h) => (h.recipients[2].comment = 'x')), 'SSError', 'an unexpected field in an enrolled recipient', 'NOT_A_STASH')
fail('fail_enrolled_removed.sstash', (b) => editHeader(b, (h) => h.recipients.splice(1, 1)), 'SSCryptoError', 'an enrolled recipient removed by hand: the header MAC covers the list', 'DECRYPT_FAILED')
fail('fail_enrolled_wrap_swapped.sstash', (b) => editHeader(b, (h) => ([h.recipients[1].wrappedKey, h.recipients[2].wrappedKey] = [h.recipients[2].wrappedKey, h.recipients[1].wrappedKey])), 'SSCryptoError', 'two wraps swapped: the header MAC covers them', 'DECRYPT_FAILED')
writeFileSync(join(here, 'vectors.json'), JSON.stringify(vectors, null, 2) + '\n')
