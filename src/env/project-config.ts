/**
 * The `"sstash"` field of a project's package.json: what sstash-run loads when no `-k` is given.
 *
 * The walk goes up from the working directory and takes the first package.json with the field,
 * so a workspace package without it uses its workspace root's (npm, yarn and pnpm workspaces).
 * It stops at the first of: that package.json; the root of the git repository (a directory
 * holding `.git`, checked after its own package.json); the home directory; the file system root.
 *
 * A package.json is read only when it is a regular file owned by us or by root, and so is the
 * symbolic link to it if it is one. Another user's file (their /tmp/package.json choosing our
 * keys, `allow` and `override`), a FIFO or a device is passed over with a warning, never opened
 * in a way that could block: whoever else can write above our project cannot steer or stop us.
 */
import { lstatSync, type Stats } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { SSError } from '../errors.js'
import { homeDir } from '../locations.js'
import { readRegularFile } from '../fs/read.js'
import type { Selection } from './selection.js'

/**
 * The `"sstash"` field of a package.json, as docs/RUN.md documents it: a {@link Selection} as
 * JSON spells it (see {@link selectionOfConfig}).
 */
export interface ProjectConfig extends Partial<Pick<Selection, 'prefix' | 'stash' | 'override' | 'mask'>> {
  /** A key path, or a list of them. */
  keys?: string | string[]
  /** Refused names allowed by name. */
  allow?: string[]
  /** Reference files (docs/REFERENCES.md), relative to the package.json; used like `keys`. */
  envFile?: string | string[]
}

/** A package.json that chose, with its field. */
export interface FoundConfig {
  config: ProjectConfig
  /** The directory holding the file (relative paths in the field are relative to it). */
  dir: string
  file: string
}

/** What {@link findProjectConfig} found, and the files it passed over. */
export interface ConfigLookup {
  found?: FoundConfig
  /** One line per package.json not read, and why ("/tmp/package.json belongs to another user ..."). */
  warnings: string[]
}

/** The largest package.json read: far above any real one, far below what would hurt. */
const MAX_PACKAGE_JSON_BYTES = 16 * 1024 * 1024

/**
 * Finds the package.json whose `"sstash"` field applies to `cwd` (see the module comment).
 * @throws {SSError} BAD_PROJECT_CONFIG for a file of ours that is not JSON, or a field of the wrong shape
 */
export function findProjectConfig(cwd: string): ConfigLookup {
  const warnings: string[] = []
  const uid = process.getuid?.()
  const owners = uid === undefined ? undefined : [uid, 0]
  const home = homeDir()
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    const bytes = readTrusted(file, owners, warnings)
    if (bytes !== undefined) {
      const field = fieldOf(bytes, file)
      if (field !== undefined) return { found: { config: checkConfig(field, file), dir, file }, warnings }
    }
    if (dir === home || dirname(dir) === dir || entryAt(join(dir, '.git')) !== undefined) return { warnings }
  }
}

/** The bytes of a package.json we may trust, or undefined (missing, or passed over with a warning). */
function readTrusted(file: string, owners: readonly number[] | undefined, warnings: string[]): Uint8Array | undefined {
  const entry = entryAt(file)
  if (entry === undefined) return undefined
  if (entry.isSymbolicLink() && owners !== undefined && !owners.includes(entry.uid)) {
    warnings.push(`${file} is a link that belongs to another user (uid ${entry.uid}): not read`)
    return undefined
  }
  try {
    return readRegularFile(file, MAX_PACKAGE_JSON_BYTES, owners)
  } catch (error) {
    if (!(error instanceof SSError)) throw error
    warnings.push(`${error.message}: not read`)
    return undefined
  }
}

/** lstat, or undefined for nothing there (or nothing we may look at). */
function entryAt(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false })
  } catch {
    return undefined
  }
}

function fieldOf(bytes: Uint8Array, file: string): unknown {
  let json: unknown
  try {
    // TextDecoder drops a byte-order mark, which JSON.parse would not take.
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new SSError(`${file} is not valid JSON`, 'BAD_PROJECT_CONFIG')
  }
  return (json as Record<string, unknown> | null)?.sstash
}

/**
 * Checks the shape of an `"sstash"` field.
 * @param file - the package.json, for messages
 * @throws {SSError} BAD_PROJECT_CONFIG naming the file and the field
 */
export function checkConfig(field: unknown, file: string): ProjectConfig {
  const bad = (why: string): never => {
    throw new SSError(`the "sstash" field of ${file} ${why}`, 'BAD_PROJECT_CONFIG')
  }
  if (typeof field !== 'object' || field === null || Array.isArray(field)) bad('must be an object such as {"keys": ["project/myapp"]}')
  const c = field as Record<string, unknown>
  const strings = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string')
  if (c.keys !== undefined && typeof c.keys !== 'string' && !strings(c.keys)) bad('has "keys" that is not a string or a list of strings')
  for (const k of ['prefix', 'stash'] as const) if (c[k] !== undefined && typeof c[k] !== 'string') bad(`has "${k}" that is not a string`)
  for (const k of ['override', 'mask'] as const) if (c[k] !== undefined && typeof c[k] !== 'boolean') bad(`has "${k}" that is not true or false`)
  if (c.allow !== undefined && !strings(c.allow)) bad('has "allow" that is not a list of strings')
  envFilesFromConfig(c.envFile, file)
  return c as ProjectConfig
}

/**
 * Checks the `"envFile"` of a package.json's `"sstash"` field: a path or a list of paths,
 * relative to that package.json.
 * @param value - the field's value (undefined when absent)
 * @param packageJson - the path of the package.json it is in
 * @returns the absolute paths, in order (a later file wins); `[]` when absent
 * @throws {SSError} BAD_PROJECT_CONFIG naming the package.json
 */
export function envFilesFromConfig(value: unknown, packageJson: string): string[] {
  if (value === undefined) return []
  const list = typeof value === 'string' ? [value] : value
  const good = (s: unknown): s is string => typeof s === 'string' && s !== '' && !s.includes('\0')
  if (!Array.isArray(list) || !list.every(good))
    throw new SSError(`the "sstash" field of ${packageJson} has "envFile" that is not a path or a list of paths`, 'BAD_PROJECT_CONFIG', {
      hint: 'e.g. "envFile": ".env.sstash" or "envFile": [".env.sstash", ".env.local.sstash"]',
    })
  const dir = dirname(packageJson)
  return list.map((path) => resolve(dir, path))
}

/**
 * The selection a package.json's field makes: its key paths as a list, its reference files and
 * stash relative to the package.json.
 * @throws {SSError} BAD_PROJECT_CONFIG (a bad `envFile`)
 */
export function selectionOfConfig({ config, dir, file }: FoundConfig): Partial<Selection> {
  return {
    keys: typeof config.keys === 'string' ? [config.keys] : (config.keys ?? []),
    envFiles: envFilesFromConfig(config.envFile, file),
    prefix: config.prefix,
    override: config.override,
    mask: config.mask,
    allow: config.allow,
    // A path in package.json is relative to that file, so it works from any subdirectory.
    stash: config.stash === undefined ? undefined : resolve(dir, config.stash),
  }
}
