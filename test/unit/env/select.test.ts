/** selectEnvironment, as a program calls it: a real stash, a real package.json walk. */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SSError } from '../../../src/index.js'
import { selectEnvironment } from '../../../src/env/index.js'
import { makeStash, tempDir } from '../../helpers.js'

const dir = tempDir()
const PASSWORD = 'select password'
const stash = join(dir, 'select.sstash')
await makeStash(stash, PASSWORD, { 'project/myapp/DATABASE_URL': 'postgres://db', 'project/myapp/DB/HOST': 'h', 'project/shared/DATABASE_URL': 'shared' })
// No agent here: the password comes from the environment given, never from the test runner's.
const env = { PATH: '/usr/bin:/bin', SSTASH_PASSWORD: PASSWORD, XDG_RUNTIME_DIR: join(dir, 'no-agent'), KEEP: 'kept' }

describe('selectEnvironment', () => {
  it('gives the environment sstash-run would give, without the password variables', async () => {
    const selected = await selectEnvironment({ keys: ['project/myapp', 'project/shared'], stash, env })
    expect({ ...selected.env }).toEqual({ PATH: '/usr/bin:/bin', XDG_RUNTIME_DIR: env.XDG_RUNTIME_DIR, KEEP: 'kept', DATABASE_URL: 'shared', DB_HOST: 'h' })
    expect(selected.injected.map((v) => v.name)).toEqual(['DATABASE_URL', 'DB_HOST'])
    expect(selected).toMatchObject({ mask: false, stash, warnings: [] })
  })

  it('takes the selection from the package.json above cwd, with its stash relative to it', async () => {
    const project = join(dir, 'project')
    mkdirSync(join(project, 'src'), { recursive: true })
    writeFileSync(join(project, 'package.json'), JSON.stringify({ sstash: { keys: 'project/myapp', prefix: 'APP_', stash: '../select.sstash', mask: true } }))
    const selected = await selectEnvironment({ cwd: join(project, 'src'), env })
    expect(selected.env.APP_DATABASE_URL).toBe('postgres://db')
    expect(selected).toMatchObject({ mask: true, stash, project: join(project, 'package.json') })
  })

  it('throws a usage error with a hint when nothing selects a key path', async () => {
    const empty = join(dir, 'empty')
    mkdirSync(join(empty, '.git'), { recursive: true })
    const error = await selectEnvironment({ cwd: empty, env }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SSError)
    expect(error).toMatchObject({ code: 'USAGE', message: 'no key paths: pass -k <keypath>' })
  })

  it('merges reference files before the key paths, and keeps the plain values out of the secrets', async () => {
    const refs = join(dir, 'refs.sstash')
    writeFileSync(refs, 'PORT=3000\nTOKEN=sstash://project/myapp/DB/HOST\nDATABASE_URL=from-the-file\n')
    const selected = await selectEnvironment({ envFiles: [refs], keys: ['project/myapp'], stash, env })
    expect(selected.injected.map((v) => [v.name, v.value])).toEqual([['PORT', '3000'], ['TOKEN', 'h'], ['DATABASE_URL', 'postgres://db'], ['DB_HOST', 'h']])
    expect(selected.secrets).toEqual(['h', 'postgres://db', 'h'])
  })

  it('refuses a dangerous name in a reference file unless allowed, before the stash is read', async () => {
    const refs = join(dir, 'dangerous.sstash')
    writeFileSync(refs, 'NODE_OPTIONS=--require ./evil.js\n')
    const noPassword = { ...env, SSTASH_PASSWORD: undefined }
    const error = await selectEnvironment({ envFiles: [refs], keys: ['project/myapp'], stash, env: noPassword }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'BAD_REFERENCE', message: `${refs}: NODE_OPTIONS: can make programs run other code; pass --allow NODE_OPTIONS to set it anyway` })
    const allowed = await selectEnvironment({ envFiles: [refs], allow: ['NODE_OPTIONS'], stash, env })
    expect(allowed.env.NODE_OPTIONS).toBe('--require ./evil.js')
  })
})
