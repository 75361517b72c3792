/**
 * The enrolled sources of the native format (src/format/enroll.ts) against their vectors in
 * test/vectors/enroll/, and the signed data against the real `ssh-keygen -Y sign`: what we
 * have ssh-agent sign is exactly an SSHSIG preimage under our own namespace.
 */
import { createPrivateKey, sign } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SecureStash, SSCryptoError, SSError } from '../../../src/index.js'
import { keyringWrapKey, sshAgentWrapKey, sshSignedData, unwrapStashKey, SSH_NAMESPACE } from '../../../src/format/enroll.js'
import { parseStash } from '../../../src/format/stash-file.js'
import { parseOpenSshKey } from '../../../src/format/openssh-key.js'
import { ROOT, tempDir } from '../../helpers.js'

const VECTORS = join(ROOT, 'test/vectors/enroll')
interface Vector {
  file: string
  password: string
  expect: string
  code?: string
  stash_key?: string
  values?: { key: string[]; value_hex: string }[]
  ssh_agent?: Record<string, string>
  keyring?: Record<string, string>
}
const vectors = JSON.parse(readFileSync(join(VECTORS, 'vectors.json'), 'utf8')) as Vector[]
const dir = tempDir()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

describe('enrolled sources in the native format', () => {
  const good = vectors.find((v) => v.expect === 'ok') as Vector
  const file = new Uint8Array(readFileSync(join(VECTORS, good.file)))

  it('good_enrolled.sstash opens with its password, and each enrolled wrap gives the same stash key', async () => {
    const path = join(dir, good.file)
    copyFileSync(join(VECTORS, good.file), path)
    const stash = await SecureStash.open(path, good.password, { create: false })
    expect((await stash.list()).map((e) => ({ key: e.key, value_hex: hex(e.value) }))).toEqual(good.values)
    const locked = parseStash(file, good.file)
    const [ssh, keyring] = locked.enrolled ?? []
    const s = good.ssh_agent as Record<string, string>
    const k = good.keyring as Record<string, string>
    expect(hex(sshSignedData(bytes(s.challenge as string)))).toBe(s.signed_data)
    expect(hex(sshAgentWrapKey(bytes(s.signature_blob as string), bytes(s.challenge as string)))).toBe(s.wrap_key)
    expect(hex(keyringWrapKey(bytes(k.secret as string), bytes(k.id as string)))).toBe(k.wrap_key)
    expect(hex(unwrapStashKey(bytes(s.wrap_key as string), ssh!, 'f'))).toBe(good.stash_key)
    expect(hex(unwrapStashKey(bytes(k.wrap_key as string), keyring!, 'f'))).toBe(good.stash_key)
    // The stash key opens the file as the password does, and writes keep the enrolled list.
    const opened = await SecureStash.openWithKey(path, { keyId: locked.keyId, key: bytes(good.stash_key as string) })
    await opened.writeValue(['new'], new TextEncoder().encode('v'))
    expect(parseStash(new Uint8Array(readFileSync(path)), 'f').enrolled).toHaveLength(2)
  })

  it('signs what an ed25519 key signs: the vector\'s signature is the deterministic ed25519 signature of the signed data', () => {
    const s = good.ssh_agent as Record<string, string>
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), bytes(s.ed25519_seed as string)]), format: 'der', type: 'pkcs8' })
    expect(hex(sign(null, bytes(s.signed_data as string), key))).toBe((s.signature_blob as string).slice(-128))
  })

  it('has ssh-agent sign exactly what `ssh-keygen -Y sign -n sstash-unlock@sstash` signs', async () => {
    const keyFile = join(dir, 'id_ed25519')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile])
    const challenge = new Uint8Array(32).map((_, i) => i)
    const message = join(dir, 'challenge')
    writeFileSync(message, challenge)
    const made = spawnSync('ssh-keygen', ['-Y', 'sign', '-f', keyFile, '-n', SSH_NAMESPACE, message])
    expect(made.status).toBe(0)
    const armoured = readFileSync(`${message}.sig`, 'utf8').replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '')
    const sshsig = Buffer.from(armoured, 'base64')
    // The SSHSIG blob ends with string(signature blob); an ed25519 signature blob ends with its 64 bytes.
    const theirs = sshsig.subarray(-64)
    const key = (await parseOpenSshKey(readFileSync(keyFile, 'utf8'), keyFile).decrypt())!
    const pkcs8 = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), key.seed]), format: 'der', type: 'pkcs8' })
    expect(hex(sign(null, sshSignedData(challenge), pkcs8))).toBe(hex(theirs))
  })

  it.each(vectors.filter((v) => v.expect !== 'ok').map((v) => [v.file, v] as const))('%s fails cleanly, with the password too', async (name, v) => {
    const path = join(dir, name)
    copyFileSync(join(VECTORS, name), path)
    const error = await SecureStash.open(path, v.password, { create: false }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(v.expect === 'SSCryptoError' ? SSCryptoError : SSError)
    if (v.code) expect((error as SSError).code).toBe(v.code)
  })
})
