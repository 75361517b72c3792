// Using sstash from a program: open (or create) a stash, store, read, list, remove.
// Run it with `node examples/library/example.mjs` after `npm run build`.
// It works on a throwaway stash in a temporary directory, with a deliberately cheap key
// derivation so it runs in milliseconds; real stashes keep the default (scrypt N=2^17).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SecureStash, SSKeyError, formatKeyPath, parseKdfSpec, parseKeyPath } from 'sstash'

const dir = mkdtempSync(join(tmpdir(), 'sstash-example-'))
try {
  const path = join(dir, 'my_stash')
  const stash = await SecureStash.create(path, 'my_password1234', { kdf: parseKdfSpec('scrypt:N=1024,r=8,p=1') })

  const bytes = (text) => new TextEncoder().encode(text)
  await stash.writeValue(['project', 'SomeService', 'token1'], bytes('622324c09486bf30ed3a9213954a35c34de84535'))
  await stash.writeValue(['project', 'SomeService', 'token2'], bytes('2435e188b48f4d1778279f1ae764fa5c1d272a03'))
  // Several changes under one lock, written once.
  await stash.update((tree) => {
    tree.write(['a', 'b', 'c'], bytes('hello'))
    tree.write(parseKeyPath('a/with\\/slash'), bytes('bye'))
  })

  // Reopening reads the file again: the password is all it takes.
  const again = await SecureStash.open(path, 'my_password1234', { create: false })
  const token = new TextDecoder().decode(await again.readValue(['project', 'SomeService', 'token1']))
  console.log(`token1: ${token}`)
  console.log(`children of project/SomeService: ${(await again.getChildren(['project', 'SomeService'])).join(', ')}`)
  for (const entry of await again.list(['a'])) console.log(`value at ${formatKeyPath(entry.key)}: ${entry.value.length} bytes`)

  await again.removeKey(['project', 'SomeService', 'token1'])
  try {
    await again.readValue(['project', 'SomeService', 'token1'])
  } catch (error) {
    if (!(error instanceof SSKeyError)) throw error
    console.log(`after removeKey: ${error.code}`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
