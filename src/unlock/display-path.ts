import { sep } from 'node:path'
import { homeDir } from '../locations.js'

/**
 * A path as a prompt shows it: under the home directory as `~/...`, so that
 * `sstash: password for the stash ~/.local/share/sstash/stash.sstash:` reads at a glance.
 * @param env - the environment whose HOME is used (default process.env)
 */
export function displayPath(path: string, env: Record<string, string | undefined> = process.env): string {
  const home = env.HOME || homeDir()
  if (home && home !== sep && path.startsWith(home + sep)) return `~${path.slice(home.length)}`
  return path
}
