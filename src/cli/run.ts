import { runMain, printError } from './common.js'

/** Entry point of the binary (not yet implemented). */
export async function main(argv: string[]): Promise<void> {
  await runMain(async () => {
    printError(`not implemented yet: ${argv.join(' ')}`)
    return 1
  })
}
