/**
 * Files and directories in and out of a stash: a file's bytes become a value, a directory
 * tree becomes a subtree (one segment per path component), and back.
 */
import { lstat, mkdtemp, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { SSError, SSKeyError, SSValueError, ioError } from '../errors.js'
import { checkKey, type Entry } from '../tree/tree.js'
import { formatKeyPath } from '../tree/key-path.js'
import { readLocalFile } from '../fs/read.js'
import type { SecureStash } from './secure-stash.js'

/**
 * Stores the bytes of the file at `srcPath` at `key`.
 * @throws {SSError} IO_ERROR, FILE_TOO_LARGE; as {@link SecureStash.update}
 */
export async function storeFile(stash: SecureStash, key: readonly string[], srcPath: string): Promise<void> {
  checkKey(key)
  await stash.writeValue(key, readLocalFile(srcPath))
}

/**
 * Writes the value at `key` to `destPath` (created 0600, replaced atomically).
 * @throws {SSKeyError} KEY_NOT_FOUND, NO_VALUE; {@link SSError} WRITE_FAILED, UNSAFE_DIRECTORY
 */
export async function extractFile(stash: SecureStash, key: readonly string[], destPath: string): Promise<void> {
  const value = await stash.readValue(key)
  const { writeAtomic } = await import('../fs/write.js')
  await writeAtomic(destPath, value)
}

/**
 * Stores every regular file below `srcDir` under `key`, one segment per path component,
 * in one write. Symlinks and other special files are refused.
 * @throws {SSValueError} for a special file or a `srcDir` that is not a directory; IO_ERROR
 */
export async function storeDirectory(stash: SecureStash, key: readonly string[], srcDir: string): Promise<void> {
  checkKey(key)
  const info = await lstat(srcDir).catch((error: unknown) => {
    throw ioError('read', srcDir, error)
  })
  if (!info.isDirectory()) throw new SSValueError(`${srcDir} is not a directory`)
  const files: Entry[] = []
  const walk = async (dir: string, rel: string[]): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name)
      const entry = await lstat(path)
      if (entry.isDirectory()) await walk(path, [...rel, name])
      else if (entry.isFile()) files.push({ key: [...key, ...rel, name], value: readLocalFile(path) })
      else throw new SSValueError(`${path} is not a regular file or directory`)
    }
  }
  await walk(srcDir, [])
  await stash.update((tree) => {
    for (const file of files) tree.write(file.key, file.value)
  })
}

// Every entry below `key` must be able to become a file: names a file system takes as they
// are, and no node that is both a file (a value) and a directory (children).
function checkFileNames(key: readonly string[], entries: Entry[]): void {
  const paths = new Set(entries.map((entry) => entry.key.slice(key.length).join('\0')))
  for (const entry of entries) {
    const rel = entry.key.slice(key.length)
    for (const segment of rel)
      if (segment === '' || segment === '.' || segment === '..' || segment.includes('/') || segment.includes('\0'))
        throw new SSKeyError(`key ${formatKeyPath(entry.key)} cannot be a file name`, entry.key, 'BAD_KEY')
    for (let i = 1; i < rel.length; i++)
      if (paths.has(rel.slice(0, i).join('\0')))
        throw new SSKeyError(
          `key ${formatKeyPath([...key, ...rel.slice(0, i)])} holds a value and children; it cannot be both a file and a directory`,
          entry.key,
          'BAD_KEY',
        )
  }
}

/**
 * Recreates the subtree at `key` as a directory at `destDir` (0700, files 0600). Refuses an
 * existing `destDir`; writes into a temporary directory first, so nothing partial is left.
 * @throws {SSError} DEST_EXISTS; {@link SSKeyError} KEY_NOT_FOUND, or BAD_KEY when a name cannot be a file
 */
export async function extractDirectory(stash: SecureStash, key: readonly string[], destDir: string): Promise<void> {
  checkKey(key)
  if (await lstat(destDir).then(() => true, () => false)) throw new SSError(`${destDir} already exists`, 'DEST_EXISTS')
  const entries = await stash.view((tree) => {
    tree.node(key)
    return tree.entries(key)
  })
  checkFileNames(key, entries)
  const tmp = await mkdtemp(join(dirname(destDir), `.${basename(destDir)}.tmp-`)).catch((error: unknown) => {
    throw ioError('write', destDir, error)
  })
  try {
    for (const entry of entries) {
      const file = join(tmp, ...entry.key.slice(key.length))
      await mkdir(dirname(file), { recursive: true, mode: 0o700 })
      await writeFile(file, entry.value, { mode: 0o600, flag: 'wx' })
    }
    await rename(tmp, destDir)
  } catch (error) {
    await rm(tmp, { recursive: true, force: true })
    throw error instanceof SSError ? error : ioError('write', destDir, error)
  }
}
