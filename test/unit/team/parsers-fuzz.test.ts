/**
 * The team stash's small parsers under random input (fast-check): the age header, identities,
 * recipients and bech32. Each refuses with one of our errors (or, for bech32, undefined), never
 * anything else, and never accepts a changed valid input as the same key.
 */
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/errors.js'
import { ageDecrypt, ageEncrypt } from '../../../src/team/age-file.js'
import { bech32Decode, bech32Encode } from '../../../src/crypto/bech32.js'
import { generateIdentity, parseIdentities, parseRecipient } from '../../../src/team/keys.js'

const secret = generateIdentity(new Uint8Array(randomBytes(32)))
const [identity] = parseIdentities(secret, 'fuzz')
const ours = (fn: () => unknown): void => {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(SSError)
  }
}

describe('team stash parsers under random input', () => {
  it('refuses any change to an age file with our error or no match, never a payload or another exception', async () => {
    const file = await ageEncrypt(new Uint8Array(32).fill(7), [parseRecipient(identity!.recipient)])
    const text = Buffer.from(file).toString('latin1')
    fc.assert(fc.property(fc.nat(file.length - 1), fc.nat(8), fc.string({ maxLength: 6 }), (at, cut, insert) => {
      const changed = new Uint8Array(Buffer.from(text.slice(0, at) + insert + text.slice(at + cut), 'latin1'))
      if (Buffer.from(changed).equals(Buffer.from(file))) return
      let out: Uint8Array | undefined
      try {
        out = ageDecrypt(changed, identity!)
      } catch (error) {
        expect(error).toBeInstanceOf(SSError)
        return
      }
      expect(out).toBeUndefined()
    }), { numRuns: 3000 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => ours(() => ageDecrypt(bytes, identity!))), { numRuns: 2000 })
  })

  it('parses identities and recipients of any text with our errors only', () => {
    const near = fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom(secret, identity!.recipient, `ssh-ed25519 ${Buffer.alloc(51).toString('base64')}`).chain((s) => fc.tuple(fc.nat(s.length), fc.string({ maxLength: 3 })).map(([i, x]) => s.slice(0, i) + x + s.slice(i + 1))))
    fc.assert(fc.property(near, (text) => {
      ours(() => parseIdentities(text, 'fuzz'))
      ours(() => parseRecipient(text))
    }), { numRuns: 5000 })
  })

  it('round-trips bech32, and refuses every one-character change of a key', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      const text = bech32Encode('age', bytes)
      expect(bech32Decode(text)?.bytes).toEqual(bytes)
    }), { numRuns: 500 })
    const text = identity!.recipient
    const alphabet = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
    fc.assert(fc.property(fc.integer({ min: 4, max: text.length - 1 }), fc.constantFrom(...alphabet), (i, c) => {
      const changed = text.slice(0, i) + c + text.slice(i + 1)
      if (changed !== text) expect(bech32Decode(changed)).toBeUndefined()
    }), { numRuns: 1000 })
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => {
      expect(() => bech32Decode(s)).not.toThrow()
    }), { numRuns: 2000 })
  })
})
