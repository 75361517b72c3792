/**
 * The commands about a personal stash's password: `init` (a new stash and its password),
 * `passwd` (a new password, or key derivation) and `migrate` (the Python format to the native
 * one, same password). Everything that can fail is checked before a password is asked.
 */
import { accessSync, constants, lstatSync, statSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { CAC } from 'cac'
import { SSError, ioError } from '../../errors.js'
import type { KdfParams } from '../../format/kdf.js'
import { defaultStashPath, stashPath } from '../../locations.js'
import type { SourcedPassword } from '../../unlock/password.js'
import { agentTimeoutFromEnv, openPersonalStash, openWithPassword, shareWithAgent } from '../../unlock/open.js'
import { UsageError } from '../exit.js'
import { printStatus, printWarning } from '../print.js'
import { existingStash, optionText as text, type GlobalOptions } from '../stash-options.js'

type Options = GlobalOptions & Record<string, unknown>

const exists = (path: string): boolean => {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/** A password shorter than this gets a warning when it is chosen (NIST SP 800-63B's minimum). */
const SHORT_PASSWORD = 8

/** The KDF `--kdf` asks for, else `fallback`, else the default. */
async function kdfOption(options: Options, fallback?: KdfParams): Promise<KdfParams> {
  const { DEFAULT_SCRYPT, parseKdfSpec } = await import('../../format/kdf.js')
  const spec = text(options.kdf)
  return spec === undefined ? (fallback ?? DEFAULT_SCRYPT) : parseKdfSpec(spec)
}

/**
 * Warns, as `sstash doctor` does, about a weak choice the user is about to make: a `--kdf`
 * below the default's strength, or a short new password. Called once everything else passed.
 */
async function warnIfWeak(options: Options, kdf: KdfParams, password?: string): Promise<void> {
  const { formatKdfSpec, isWeakKdf } = await import('../../format/kdf.js')
  if (text(options.kdf) !== undefined && isWeakKdf(kdf))
    printWarning(`the key derivation ${formatKdfSpec(kdf)} is weak: a stolen copy of the file is cheap to attack (the default, --kdf scrypt, is not)`)
  const length = password === undefined ? SHORT_PASSWORD : [...password].length
  if (length < SHORT_PASSWORD)
    printWarning(`the password is only ${length} character${length === 1 ? '' : 's'} long: a stolen copy of the file is quick to guess (use ${SHORT_PASSWORD} or more, or several words)`)
}

/**
 * A new password: from the sources in the environment (SSTASH_PASSWORD_FILE, SSTASH_PASSWORD,
 * SSTASH_ASKPASS for `init`; SSTASH_NEW_PASSWORD_FILE and SSTASH_NEW_PASSWORD for `passwd`),
 * else typed twice on the terminal. An empty password is refused before it is asked again.
 */
async function newPassword(path: string, command: 'init' | 'passwd'): Promise<SourcedPassword> {
  const { passwordFromEnvironment } = await import('../../unlock/password.js')
  const { promptHidden } = await import('../../unlock/tty.js')
  let chosen = await passwordFromEnvironment(path, { newPassword: command === 'passwd' })
  if (chosen === undefined) {
    const { displayPath } = await import('../../unlock/display-path.js')
    const typed = await promptHidden(`sstash: new password for the stash ${displayPath(path)}: `)
    if (typed === undefined)
      throw new SSError(`no terminal to ask for the new password of ${path}`, 'NO_PASSWORD', {
        hint: `run \`sstash ${command}\` in a terminal, or set ${command === 'init' ? 'SSTASH_PASSWORD_FILE' : 'SSTASH_NEW_PASSWORD_FILE'} to a file holding the password`,
      })
    if (typed !== '' && (await promptHidden('sstash: repeat the new password: ')) !== typed)
      throw new SSError('the two passwords differ; nothing was changed', 'PASSWORD_MISMATCH')
    chosen = { password: typed, source: 'prompt' }
  }
  if (chosen.password === '') throw new SSError('the password is empty; nothing was changed', 'EMPTY_PASSWORD')
  return chosen
}

/**
 * Checks, before any password is asked, that a new stash can be made at `path`: its directory
 * exists (the default one is made, 0700), is not open to other users, and can be written.
 */
async function prepareDirectory(path: string, isDefault: boolean): Promise<void> {
  const dir = dirname(path)
  const [{ makePrivateDir }, { checkStashDirectory }] = await Promise.all([import('../../fs/write.js'), import('../../fs/directory.js')])
  // Only the default location gets its directories made for it: a typo in --stash should fail, not create a tree.
  if (isDefault) await makePrivateDir(dir)
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory())
    throw new SSError(`cannot create ${path}: ${dir} is not a directory`, 'WRITE_FAILED', { hint: `make it first (\`mkdir -p ${dir}\`), or leave out --stash for the default stash` })
  checkStashDirectory(dir)
  try {
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw ioError('create a stash in', dir, error, 'WRITE_FAILED')
  }
}

async function init(options: Options): Promise<void> {
  const chosen = text(options.stash)
  const path = stashPath(chosen)
  const kdf = await kdfOption(options)
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw new UsageError(`${path} is a directory`, `give the new stash's file name, e.g. \`sstash --stash ${join(path, basename(defaultStashPath()))} init\``)
  if (exists(path))
    throw new SSError(`${path} already exists`, 'STASH_EXISTS', { hint: 'use `sstash passwd` to change its password, or pass --stash <path> for another stash' })
  // Everything that can fail is checked before the password is asked for.
  agentTimeoutFromEnv()
  await prepareDirectory(path, chosen === undefined && !process.env.SSTASH_FILE)
  const { password, source } = await newPassword(path, 'init')
  await warnIfWeak(options, kdf, password)
  const { SecureStash } = await import('../../store/secure-stash.js')
  const stash = await SecureStash.create(path, password, { kdf })
  printStatus(`created ${path}`)
  // A password typed here unlocks the agent too, so the `sstash set` that follows asks nothing.
  await shareWithAgent(stash, source)
}

async function passwd(options: Options): Promise<void> {
  // A team stash is refused before any prompt: it has no password to change.
  const stash = await openPersonalStash(existingStash(options))
  const kdf = await kdfOption(options, stash.info.kdf)
  const { password, source } = await newPassword(stash.path, 'passwd')
  await warnIfWeak(options, kdf, password)
  // Enrolled sources (sstash enroll) that can answer now keep working; the others are named.
  const { keepEnrolledThrough } = await import('../../unlock/enrolled.js')
  const removed = await keepEnrolledThrough(stash, () => stash.changePassword(password, { kdf }))
  printStatus(`changed the password of ${stash.path}`)
  for (const name of removed) printWarning(`removed ${name}: it could not be reached to follow the new password; enroll it again`)
  // The key the agent may hold for the old password no longer fits: it gets the new one.
  await shareWithAgent(stash, source)
}

async function migrate(options: Options): Promise<void> {
  const path = existingStash(options)
  const kdf = await kdfOption(options)
  if (kdf.name !== 'scrypt') throw new UsageError('the native format uses scrypt', 'pass --kdf scrypt, or leave --kdf out')
  // The same password must unlock the migrated file, so it is asked for here rather than taken from the agent.
  const { stash, password, source } = await openWithPassword(path)
  if (stash.info.format === 'native') return printStatus(`${stash.path} is already in the native format; nothing to do`)
  await warnIfWeak(options, kdf)
  await stash.changePassword(password, { kdf })
  printStatus(`migrated ${stash.path} to the native format; the password is unchanged`)
  await shareWithAgent(stash, source)
}

/** `sstash init`: before `get`, as the help lists it. */
export function registerInitCommand(cli: CAC): void {
  cli.command('init', 'create a new, empty stash (asks for the password twice)')
    .option('--kdf <spec>', 'key derivation, e.g. scrypt:N=131072,r=8,p=1 (the default)')
    .example('  $ sstash init')
    .example('  $ sstash --stash ~/work.sstash init')
    .action((options: Options) => init(options))

}

/** `sstash passwd` and `sstash migrate`. */
export function registerPasswordCommands(cli: CAC): void {
  cli.command('passwd', 'change the password (and optionally the key derivation)')
    .option('--kdf <spec>', 'a new key derivation, e.g. scrypt:N=262144,r=8,p=1')
    .example('  $ sstash passwd')
    .example('  $ sstash passwd --kdf scrypt:N=262144,r=8,p=1')
    .action((options: Options) => passwd(options))

  cli.command('migrate', 'convert a Python sstash 0.17 file to the native format (same password)')
    .option('--kdf <spec>', 'the scrypt parameters (default scrypt:N=131072,r=8,p=1)')
    .example('  $ sstash --stash my_stash migrate')
    .action((options: Options) => migrate(options))

}
