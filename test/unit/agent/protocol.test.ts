/**
 * The agent's request parser: a pure function from a received line to a typed request or the
 * refusal to answer with. Tables of odd lines, and a property: whatever the line, it returns.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_SMALL_REQUEST_BYTES, parseRequest } from '../../../src/agent/protocol.js'

const KEY_ID = 'ab'.repeat(16)
const KEY = Buffer.alloc(32, 7).toString('base64')
const parse = (value: unknown) => {
  const line = typeof value === 'string' ? value : JSON.stringify(value)
  return parseRequest(line, Buffer.byteLength(line))
}

describe('parseRequest', () => {
  it('turns each well-formed request into a typed request with only its own fields', () => {
    const good = [
      { v: 1, op: 'get', path: '/s', keyId: KEY_ID },
      { v: 1, op: 'read', path: '/s', keys: [[], ['a', 'b']] },
      { v: 1, op: 'write', path: '/s', values: [[['a'], 'AQ=='], [['b'], '']] },
      { v: 1, op: 'unlock', path: '/s', keyId: KEY_ID, key: KEY, timeoutMs: 1_000 },
      { v: 1, op: 'lock', path: '/s' },
      { v: 1, op: 'lock-all' },
      { v: 1, op: 'status' },
    ]
    for (const request of good) expect(parse({ ...request, extra: 'dropped' })).toEqual({ ok: true, request })
  })

  it('refuses lines that are not a request of this version, naming why in one word or three', () => {
    const table: [unknown, string][] = [
      ['not json', 'malformed request'],
      ['[1,2]', 'malformed request'],
      ['null', 'malformed request'],
      ['"status"', 'malformed request'],
      [{ op: 'status' }, 'unsupported protocol version'],
      [{ v: 2, op: 'status' }, 'unsupported protocol version'],
      [{ v: '1', op: 'status' }, 'unsupported protocol version'],
      [{ v: 1, op: 'nope' }, 'unknown request'],
      [{ v: 1, op: '__proto__' }, 'unknown request'],
      [{ v: 1, op: 'toString' }, 'unknown request'],
      [{ v: 1, op: 'get', path: 'relative', keyId: KEY_ID }, 'malformed request'],
      [{ v: 1, op: 'get', path: '/a\0b', keyId: KEY_ID }, 'malformed request'],
      [{ v: 1, op: 'get', path: `/${'p'.repeat(4096)}`, keyId: KEY_ID }, 'malformed request'],
      [{ v: 1, op: 'get', path: '/s', keyId: 'ABCDEF0123456789' }, 'malformed request'],
      [{ v: 1, op: 'read', path: '/s', keys: [['a', 1]] }, 'malformed request'],
      [{ v: 1, op: 'read', path: '/s', keys: Array.from({ length: 65 }, () => ['a']) }, 'malformed request'],
      [{ v: 1, op: 'read', path: '/s', keys: [Array.from({ length: 257 }, () => 'a')] }, 'malformed request'],
      [{ v: 1, op: 'write', path: '/s', values: [] }, 'malformed request'],
      [{ v: 1, op: 'write', path: '/s', values: [[['a'], '!!']] }, 'malformed request'],
      [{ v: 1, op: 'write', path: '/s', values: [[['a'], 'AQ==', 'x']] }, 'malformed request'],
      [{ v: 1, op: 'unlock', path: '/s', keyId: KEY_ID, key: 'AQ==', timeoutMs: 1_000 }, 'malformed request'],
      [{ v: 1, op: 'unlock', path: '/s', keyId: KEY_ID, key: KEY, timeoutMs: 0 }, 'malformed request'],
      [{ v: 1, op: 'unlock', path: '/s', keyId: KEY_ID, key: KEY, timeoutMs: 31 * 86_400_000 }, 'malformed request'],
      [{ v: 1, op: 'unlock', path: '/s', keyId: KEY_ID, key: KEY, timeoutMs: 1.5 }, 'malformed request'],
      [{ v: 1, op: 'lock' }, 'malformed request'],
      [{ v: 1, op: 'read', path: '/s', keys: [['x'.repeat(MAX_SMALL_REQUEST_BYTES)]] }, 'request too large'],
    ]
    for (const [line, error] of table) expect(parse(line), JSON.stringify(line).slice(0, 80)).toEqual({ ok: false, error })
  })

  it('lets only a write be larger than 64 KiB', () => {
    const value = Buffer.alloc(MAX_SMALL_REQUEST_BYTES).toString('base64')
    expect(parse({ v: 1, op: 'write', path: '/s', values: [[['big'], value]] })).toMatchObject({ ok: true })
  })

  it('returns a request or a refusal for any line, never throwing', () => {
    const requestLike = fc.record({
      v: fc.oneof(fc.constant(1), fc.anything()),
      op: fc.oneof(fc.constantFrom('get', 'read', 'write', 'unlock', 'lock', 'lock-all', 'status'), fc.string()),
      path: fc.oneof(fc.constant('/s'), fc.anything()),
      keyId: fc.oneof(fc.constant(KEY_ID), fc.anything()),
      key: fc.oneof(fc.constant(KEY), fc.anything()),
      keys: fc.anything(),
      values: fc.anything(),
      timeoutMs: fc.oneof(fc.integer(), fc.anything()),
    }, { requiredKeys: [] })
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), requestLike.map((r) => JSON.stringify(r) ?? '')), (line) => {
        const parsed = parseRequest(line, Buffer.byteLength(line))
        expect(typeof parsed.ok).toBe('boolean')
      }),
      { numRuns: 2_000 },
    )
  })
})
