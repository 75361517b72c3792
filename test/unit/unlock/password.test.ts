/**
 * The password sources as a library: a password is text, and bytes that are not UTF-8 (or a
 * string that has no UTF-8 form) are refused rather than replaced by U+FFFD.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSValueError, SecureStash } from '../../../src/index.js'
import { getPassword, passwordFromEnvironment } from '../../../src/unlock/password.js'
import { TEST_KDF, tempDir } from '../../helpers.js'

const dir = tempDir()

describe('passwords are text', () => {
  it('refuses a password holding a lone surrogate, which has no UTF-8 form', async () => {
    // Encoded lossily, '\ud800' and '\ud801' would both be EF BF BD: one key for two passwords.
    for (const password of ['a\ud800', 'a\udfff', '\ud801b']) {
      await expect(SecureStash.create(join(dir, 'lone.sstash'), password, { kdf: TEST_KDF })).rejects.toBeInstanceOf(SSValueError)
    }
    const stash = await SecureStash.create(join(dir, 'pair.sstash'), 'a\ud83d\udd11', { kdf: TEST_KDF })
    expect(stash.path).toBe(join(dir, 'pair.sstash'))
  })

  it('reads a password file strictly as UTF-8, dropping one trailing newline', async () => {
    const good = join(dir, 'good')
    writeFileSync(good, 'motörhead 🔑\r\n', { mode: 0o600 })
    expect(await getPassword('s', { env: { SSTASH_PASSWORD_FILE: good }, prompt: false })).toBe('motörhead 🔑')
    const bad = join(dir, 'bad')
    writeFileSync(bad, Buffer.from([0x70, 0x77, 0xc3]), { mode: 0o600 })
    await expect(getPassword('s', { env: { SSTASH_PASSWORD_FILE: bad }, prompt: false })).rejects.toMatchObject({ code: 'NO_PASSWORD' })
  })

  it('hands warnings to the caller instead of printing them when asked', async () => {
    const loose = join(dir, 'loose')
    writeFileSync(loose, 'password', { mode: 0o644 })
    const warnings: string[] = []
    const found = await passwordFromEnvironment('s', { env: { SSTASH_PASSWORD_FILE: loose }, warn: (message) => warnings.push(message) })
    expect(found).toEqual({ password: 'password', source: 'file' })
    expect(warnings).toEqual([`${loose} (SSTASH_PASSWORD_FILE) is open to other users (mode 0644): run \`chmod 600 ${loose}\``])
  })

  it('reads the new password from SSTASH_NEW_PASSWORD_FILE and SSTASH_NEW_PASSWORD, never SSTASH_ASKPASS', async () => {
    const env = { SSTASH_PASSWORD: 'old', SSTASH_NEW_PASSWORD: 'new', SSTASH_ASKPASS: '/bin/false' }
    expect(await passwordFromEnvironment('s', { env, newPassword: true })).toEqual({ password: 'new', source: 'env' })
    expect(await passwordFromEnvironment('s', { env: { SSTASH_ASKPASS: '/bin/false' }, newPassword: true })).toBeUndefined()
    await expect(passwordFromEnvironment('s', { env: { SSTASH_NEW_PASSWORD_FILE: join(dir, 'none') }, newPassword: true })).rejects.toThrow(
      /^cannot read SSTASH_NEW_PASSWORD_FILE /,
    )
  })
})
