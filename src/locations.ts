/**
 * Where sstash keeps things by default. On Linux (and any system but macOS) it follows
 * the XDG base directory conventions; on macOS it uses ~/Library/Application Support.
 *
 *   stash:   $SSTASH_FILE, else $XDG_DATA_HOME/sstash/stash.sstash (~/.local/share/sstash/stash.sstash)
 *   config:  $XDG_CONFIG_HOME/sstash (~/.config/sstash)
 *   agent:   $XDG_RUNTIME_DIR/sstash, else /tmp/sstash-<uid>
 *   state:   $XDG_STATE_HOME/sstash (~/.local/state/sstash): what each clone has seen of team stashes
 *
 * Every default path sstash uses is resolved here, and only here.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'

type Env = Record<string, string | undefined>

const isMac = process.platform === 'darwin'

function xdg(env: Env, variable: string, fallback: string[], mac: string[]): string {
  const set = env[variable]
  if (set && set.startsWith('/')) return join(set, 'sstash')
  return join(homedir(), ...(isMac ? mac : fallback), 'sstash')
}

/** The directory holding the default stash. */
export function dataDir(env: Env = process.env): string {
  return xdg(env, 'XDG_DATA_HOME', ['.local', 'share'], ['Library', 'Application Support'])
}

/** The directory holding sstash's configuration files (git mapping rules, agent settings). */
export function configDir(env: Env = process.env): string {
  return xdg(env, 'XDG_CONFIG_HOME', ['.config'], ['Library', 'Application Support'])
}

/** The directory holding state sstash keeps between runs (the team stash generations seen). */
export function stateDir(env: Env = process.env): string {
  return xdg(env, 'XDG_STATE_HOME', ['.local', 'state'], ['Library', 'Application Support'])
}

/** The stash a command uses: `--stash`, else `$SSTASH_FILE`, else the default under {@link dataDir}. */
export function stashPath(option: string | undefined, env: Env = process.env): string {
  if (option) return option
  if (env.SSTASH_FILE) return env.SSTASH_FILE
  return join(dataDir(env), 'stash.sstash')
}

/**
 * The directory holding the agent's socket: `$XDG_RUNTIME_DIR/sstash` when that variable
 * is an absolute path, else `/tmp/sstash-<uid>`.
 */
export function agentDir(env: Env = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR
  if (runtime && runtime.startsWith('/')) return join(runtime, 'sstash')
  return `/tmp/sstash-${process.getuid?.() ?? 'user'}`
}
