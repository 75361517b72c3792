/**
 * OpenSSH private keys made by the real `ssh-keygen`: unencrypted, protected with aes256-ctr
 * (its default) and aes256-gcm@openssh.com, converted with `ssh-keygen -p`; each decoded key
 * must be the one `ssh-keygen -y` prints, and a wrong passphrase or a changed byte must fail.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseOpenSshKey } from '../../../src/format/openssh-key.js'
import { tempDir, thrown } from '../../helpers.js'

const dir = tempDir()
let n = 0
const pass = (text: string) => new Uint8Array(Buffer.from(text))

/** A key made by ssh-keygen, with few bcrypt rounds so the suite stays quick. */
function keygen(passphrase: string, extra: string[] = []): { file: string; content: string; publicKey: Buffer } {
  const file = join(dir, `k${++n}`)
  const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '2', '-N', passphrase, '-C', 'bob@laptop', '-f', file, ...extra])
  expect(made.status).toBe(0)
  return { file, content: readFileSync(file, 'utf8'), publicKey: publicOf(file) }
}

function publicOf(file: string): Buffer {
  const line = readFileSync(`${file}.pub`, 'utf8').split(' ')[1] as string
  return Buffer.from(line, 'base64').subarray(-32)
}

describe('OpenSSH private keys', () => {
  it('decodes an unencrypted key without a passphrase', async () => {
    const key = keygen('')
    const parsed = parseOpenSshKey(key.content, key.file)
    expect(parsed.encrypted).toBe(false)
    expect(Buffer.from(parsed.plain().publicKey)).toEqual(key.publicKey)
    expect(parsed.plain().comment).toBe('bob@laptop')
  })

  it('decrypts an aes256-ctr key (ssh-keygen\'s default) with its passphrase', async () => {
    const key = keygen('open sesame')
    const parsed = parseOpenSshKey(key.content, key.file)
    expect(parsed.cipher).toBe('aes256-ctr')
    const decoded = await parsed.decrypt(pass('open sesame'))
    expect(Buffer.from(decoded!.publicKey)).toEqual(key.publicKey)
  })

  it('decrypts an aes256-gcm@openssh.com key', async () => {
    const key = keygen('gcm pass', ['-Z', 'aes256-gcm@openssh.com'])
    const parsed = parseOpenSshKey(key.content, key.file)
    expect(parsed.cipher).toBe('aes256-gcm@openssh.com')
    expect(Buffer.from((await parsed.decrypt(pass('gcm pass')))!.publicKey)).toEqual(key.publicKey)
    expect(await parsed.decrypt(pass('gcm pasS'))).toBeUndefined()
  })

  it('decrypts a key whose passphrase was set later with ssh-keygen -p', async () => {
    const key = keygen('')
    expect(spawnSync('ssh-keygen', ['-q', '-p', '-a', '3', '-N', 'added later', '-P', '', '-f', key.file]).status).toBe(0)
    const parsed = parseOpenSshKey(readFileSync(key.file, 'utf8'), key.file)
    expect(parsed.encrypted).toBe(true)
    expect(Buffer.from((await parsed.decrypt(pass('added later')))!.publicKey)).toEqual(key.publicKey)
  })

  it('gives nothing for a wrong or empty passphrase, and refuses a protected key where none can be asked', async () => {
    const key = keygen('right')
    const parsed = parseOpenSshKey(key.content, key.file)
    expect(await parsed.decrypt(pass('wrong'))).toBeUndefined()
    expect(await parsed.decrypt(pass(''))).toBeUndefined()
    expect(thrown(() => parsed.plain()).code).toBe('BAD_IDENTITY')
  })

  it('refuses a key whose private half is not the public key in clear (a forged file)', async () => {
    const a = keygen('')
    const b = keygen('')
    // The public part of a, the private section of b.
    const raw = (content: string) => Buffer.from(content.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
    const ra = raw(a.content)
    const rb = raw(b.content)
    const pubOffset = 15 + 4 + 4 + 4 + 4 + 4 + 4 // magic, "none", "none", "", count
    const forged = Buffer.concat([ra.subarray(0, pubOffset + 4 + 51), rb.subarray(pubOffset + 4 + 51)])
    const text = `-----BEGIN OPENSSH PRIVATE KEY-----\n${forged.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`
    expect(thrown(() => parseOpenSshKey(text, 'forged').plain()).message).toMatch(/public and private halves do not match/)
  })

  it('refuses RSA keys, unknown ciphers and absurd bcrypt rounds with BAD_IDENTITY before deriving anything', () => {
    const rsa = join(dir, 'rsa')
    spawnSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', rsa])
    expect(thrown(() => parseOpenSshKey(readFileSync(rsa, 'utf8'), rsa).plain()).message).toMatch(/ssh-rsa keys are not supported/)
    const key = keygen('x')
    const raw = Buffer.from(key.content.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64')
    const armour = (bytes: Buffer) => `-----BEGIN OPENSSH PRIVATE KEY-----\n${bytes.toString('base64')}\n-----END OPENSSH PRIVATE KEY-----\n`
    const cipherAt = raw.indexOf('aes256-ctr')
    const otherCipher = Buffer.from(raw)
    otherCipher.write('aes256-cbc', cipherAt, 'latin1')
    expect(thrown(() => parseOpenSshKey(armour(otherCipher), 'k')).message).toMatch(/cipher "aes256-cbc" is not supported/)
    const roundsAt = raw.indexOf('bcrypt') + 6 + 4 + 4 + 16
    const many = Buffer.from(raw)
    many.writeUInt32BE(1_000_000, roundsAt)
    expect(thrown(() => parseOpenSshKey(armour(many), 'k')).message).toMatch(/bcrypt rounds \(1000000\) are out of bounds/)
    expect(thrown(() => parseOpenSshKey(armour(raw.subarray(0, 60)), 'k')).code).toBe('BAD_IDENTITY')
  })
})
