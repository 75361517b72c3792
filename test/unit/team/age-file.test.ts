/**
 * The stanzas and files of age-file.ts against the real `age`, `age-keygen` and `ssh-keygen`:
 * what sstash wraps, age decrypts, and what age encrypts, sstash unwraps.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ageDecrypt, ageEncrypt } from '../../../src/team/age-file.js'
import { bech32Decode, bech32Encode } from '../../../src/crypto/bech32.js'
import { generateIdentity, parseIdentities, parseRecipient, recipientFingerprint } from '../../../src/team/keys.js'
import { randomBytes } from 'node:crypto'
import { tempDir } from '../../helpers.js'

const dir = tempDir()
const hasAge = spawnSync('age', ['--version']).status === 0

function ageKey(name: string): { file: string; recipient: string; secret: string } {
  const file = join(dir, name)
  spawnSync('age-keygen', ['-o', file])
  const recipient = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim()
  const secret = readFileSync(file, 'utf8').split('\n').find((line) => line.startsWith('AGE-SECRET-KEY-1')) as string
  return { file, recipient, secret }
}

function sshKey(name: string): { file: string; recipient: string } {
  const file = join(dir, name)
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bob@example', '-f', file])
  return { file, recipient: readFileSync(`${file}.pub`, 'utf8').trim() }
}

const payload = new Uint8Array(32).map((_, i) => i * 7)

describe.skipIf(!hasAge)('age files', () => {
  it('writes X25519 wraps that age decrypts with the age-keygen identity', async () => {
    const key = ageKey('x.key')
    const file = await ageEncrypt(payload, [parseRecipient(key.recipient)])
    const out = spawnSync('age', ['-d', '-i', key.file], { input: file })
    expect(out.status).toBe(0)
    expect(new Uint8Array(out.stdout)).toEqual(payload)
  })

  it('reads what age encrypts to an age1 recipient, with the AGE-SECRET-KEY string', () => {
    const key = ageKey('y.key')
    const file = spawnSync('age', ['-e', '-r', key.recipient], { input: payload }).stdout
    const [identity] = parseIdentities(key.secret, 'SSTASH_IDENTITY')
    expect(identity?.recipient).toBe(key.recipient)
    expect(ageDecrypt(new Uint8Array(file), identity!)).toEqual(payload)
  })

  it('writes ssh-ed25519 wraps that age decrypts with the OpenSSH private key', async () => {
    const key = sshKey('id_ed25519')
    const file = await ageEncrypt(payload, [parseRecipient(key.recipient)])
    const out = spawnSync('age', ['-d', '-i', key.file], { input: file })
    expect(out.stderr.toString()).toBe('')
    expect(new Uint8Array(out.stdout)).toEqual(payload)
  })

  it('reads what age encrypts to an ssh-ed25519 public key, with the OpenSSH private key file', () => {
    const key = sshKey('id_other')
    const file = spawnSync('age', ['-e', '-R', `${key.file}.pub`], { input: payload }).stdout
    const [identity] = parseIdentities(readFileSync(key.file, 'utf8'), key.file)
    expect(identity?.recipient).toBe(key.recipient.split(' ').slice(0, 2).join(' '))
    expect(ageDecrypt(new Uint8Array(file), identity!)).toEqual(payload)
  })
})

describe('age files on generated keys', () => {
  it('gives undefined for a file to another key, and detects every changed byte of a file to mine', async () => {
    const [mine, other] = [generateIdentity(new Uint8Array(randomBytes(32))), generateIdentity(new Uint8Array(randomBytes(32)))]
    const [identity] = parseIdentities(mine, 'mine')
    const file = await ageEncrypt(payload, [parseRecipient(parseIdentities(other, 'other')[0]!.recipient)])
    expect(ageDecrypt(file, identity!)).toBeUndefined()
    const toMe = await ageEncrypt(payload, [parseRecipient(identity!.recipient)])
    expect(ageDecrypt(toMe, identity!)).toEqual(payload)
    for (let i = 0; i < toMe.length; i++) {
      const flipped = new Uint8Array(toMe)
      flipped[i] = (flipped[i] as number) ^ 0x01
      let result: Uint8Array | undefined | 'error'
      try {
        result = ageDecrypt(flipped, identity!)
      } catch {
        result = 'error'
      }
      // Every flip is detected: refused (header MAC, payload AEAD), or a stanza no longer for me.
      expect(result === 'error' || result === undefined, `a flip at byte ${i} was not detected`).toBe(true)
    }
  })
})

describe('keys', () => {
  it('refuses passphrase-protected OpenSSH keys and RSA keys, with a message naming the file', () => {
    const file = join(dir, 'id_locked')
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'secret', '-f', file])
    expect(() => parseIdentities(readFileSync(file, 'utf8'), file)).toThrow(/protected by a passphrase/)
    expect(() => parseRecipient('ssh-rsa AAAAB3NzaC1yc2E')).toThrow(/ssh-rsa keys are not supported/)
    expect(() => parseRecipient('age1notbech32')).toThrow(expect.objectContaining({ code: 'BAD_RECIPIENT' }))
    writeFileSync(join(dir, 'empty'), '# nothing\n')
    expect(() => parseIdentities('# nothing\n', 'empty')).toThrow(expect.objectContaining({ code: 'BAD_IDENTITY' }))
  })

  it('shows an ssh key by the SHA256 fingerprint ssh-keygen -l prints', () => {
    const key = sshKey('id_fp')
    const printed = spawnSync('ssh-keygen', ['-l', '-f', `${key.file}.pub`], { encoding: 'utf8' }).stdout.split(' ')[1]
    expect(recipientFingerprint(parseRecipient(key.recipient).text)).toBe(`ssh-ed25519 ${printed}`)
  })

  it('refuses to wrap to a low-order key instead of retrying forever', async () => {
    const zero = parseRecipient(bech32Encode('age', new Uint8Array(32)))
    await expect(ageEncrypt(payload, [zero])).rejects.toThrow(expect.objectContaining({ code: 'BAD_RECIPIENT' }))
  })

  it('round-trips bech32 and refuses a changed character', () => {
    const bytes = new Uint8Array(32).fill(3)
    const text = bech32Encode('age', bytes)
    expect(bech32Decode(text)).toEqual({ hrp: 'age', bytes })
    expect(bech32Decode(`${text.slice(0, -1)}${text.endsWith('q') ? 'p' : 'q'}`)).toBeUndefined()
    expect(bech32Decode(text.toUpperCase())?.bytes).toEqual(bytes)
  })
})
