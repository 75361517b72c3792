/**
 * `sstash import --format git-credentials`: a `~/.git-credentials` file into the git helper's
 * layout. The good lines go in, the others are named by number (never by content), and the
 * plaintext source is removed on request once everything in it is in the stash.
 */
import { unlinkSync } from 'node:fs'
import { ioError } from '../../errors.js'
import { formatKeyPath } from '../../tree/key-path.js'
import { EXIT, UsageError, openFromOptions, printHint, printStatus, printWarning, type GlobalOptions } from '../output.js'

/** Options of `sstash import` that this format reads. */
export interface GitImportOptions extends GlobalOptions {
  /** `--remove-source`: delete the file once every line of it is in the stash. */
  removeSource?: unknown
}

/**
 * Refuses `--remove-source` where it cannot apply, before anything is read or written.
 * @throws {UsageError} for stdin, or a format other than git-credentials
 */
export function checkRemoveSource(format: string, file: string, options: GitImportOptions): void {
  if (options.removeSource === undefined) return
  if (format !== 'git-credentials') throw new UsageError('--remove-source is for --format git-credentials', 'remove the file yourself once you have checked the import')
  if (file === '-') throw new UsageError('--remove-source needs a file, not stdin', 'give the file, e.g. `sstash import ~/.git-credentials --format git-credentials --remove-source`')
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/**
 * Imports `input`, the content of `file`, below `base` (default: the git layout's prefix).
 * @returns the exit code: 1 when a line was left out (it is still only in the file)
 */
export async function importGitCredentialsFile(file: string, input: string, base: string[] | undefined, options: GitImportOptions): Promise<number> {
  const { importGitCredentials } = await import('../../git/mapping.js')
  const stash = await openFromOptions(options)
  const report = await stash.update((tree) => importGitCredentials(tree, input, base === undefined ? {} : { prefix: base }))
  const source = file === '-' ? 'stdin' : file
  for (const { line, why } of report.skipped) printWarning(`line ${line} of ${source}: ${why}; not imported`)
  const where = base === undefined ? 'the git layout' : formatKeyPath(base)
  const left = report.skipped.length
  printStatus(`imported ${plural(report.imported, 'credential')} into ${where}${left > 0 ? `; ${plural(left, 'line')} not imported` : ''}`)
  if (left > 0) {
    if (options.removeSource !== undefined) printWarning(`kept ${source}: ${left === 1 ? 'the line not imported is' : 'the lines not imported are'} only there`)
    return EXIT.ERROR
  }
  if (file === '-') return EXIT.OK
  if (options.removeSource === undefined) {
    if (report.imported > 0) printHint(`${file} still holds these passwords in plain text: add --remove-source, or \`rm ${file}\``)
    return EXIT.OK
  }
  try {
    unlinkSync(file)
  } catch (error) {
    throw ioError('remove', file, error)
  }
  printStatus(`removed ${file}`)
  return EXIT.OK
}
