/**
 * detectStash: the one function of the three formats that every opening starts with. It reads
 * the file once, says what it is by how it starts, and hands on the bytes and identity read.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { detectStash, kindOf } from '../../../src/stash/detect.js'
import { fileIdentity } from '../../../src/fs/read.js'
import { PYTHON_TEST_KDF, makeStash } from '../../helpers.js'
import { SecureStash } from '../../../src/store/secure-stash.js'

const dir = mkdtempSync(join(tmpdir(), 'sstash-detect-'))
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'))

describe('detectStash', () => {
  it('tells the three formats apart by how they start, and names no format for anything else', () => {
    expect(kindOf(bytes('sstash-team/1\nteam ...'))).toBe('team')
    expect(kindOf(bytes('sstash/1\n{}'))).toBe('native')
    // Another version is still the native format: its parser names the version it cannot read.
    expect(kindOf(bytes('sstash/9\n'))).toBe('native')
    expect(kindOf(bytes(' \n\t{"salt": ""}'))).toBe('python')
    for (const other of ['', 'sstash', 'sstash-team', 'KEY=value\n', '\u0000{']) expect(kindOf(bytes(other))).toBeUndefined()
  })

  it('reads a stash once: its bytes, the identity of the file they came from, and its real path through a link', async () => {
    const path = join(dir, 'native.sstash')
    await makeStash(path, 'pw', { a: '1' })
    const link = join(dir, 'link.sstash')
    symlinkSync(path, link)
    const found = detectStash(link)
    expect(found).toMatchObject({ given: link, real: path, kind: 'native' })
    expect(found.read?.bytes).toEqual(new Uint8Array(readFileSync(path)))
    expect(found.read?.identity).toBe(fileIdentity(path))
  })

  it('finds the Python format, and a missing file as nothing read', async () => {
    const path = join(dir, 'python.sstash')
    await SecureStash.open(path, 'pw', { kdf: PYTHON_TEST_KDF })
    expect(detectStash(path).kind).toBe('python')
    expect(detectStash(join(dir, 'missing.sstash'))).toMatchObject({ read: undefined, kind: undefined })
  })

  it('refuses a FIFO, a directory and a dangling link at once, without hanging on the FIFO', () => {
    const fifo = join(dir, 'fifo')
    execFileSync('mkfifo', [fifo])
    expect(() => detectStash(fifo)).toThrow(expect.objectContaining({ code: 'NOT_A_FILE' }))
    expect(() => detectStash(dir)).toThrow(expect.objectContaining({ code: 'NOT_A_FILE' }))
    const dangling = join(dir, 'dangling')
    symlinkSync(join(dir, 'nowhere'), dangling)
    expect(() => detectStash(dangling)).toThrow(expect.objectContaining({ code: 'DANGLING_LINK' }))
    writeFileSync(join(dir, 'env'), 'A=1\n')
    expect(detectStash(join(dir, 'env')).kind).toBeUndefined()
  })
})
