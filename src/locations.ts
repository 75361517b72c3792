/**
 * Where sstash keeps things by default. On Linux (and any system but macOS) it follows
 * the XDG base directory conventions; on macOS it uses ~/Library/Application Support.
 *
 *   stash:   $SSTASH_FILE, else $XDG_DATA_HOME/sstash/stash.sstash (~/.local/share/sstash/stash.sstash)
 *   config:  $XDG_CONFIG_HOME/sstash (~/.config/sstash)
 *   agent:   $XDG_RUNTIME_DIR/sstash, else $XDG_STATE_HOME/sstash/agent (~/.local/state/sstash/agent),
 *            else (a socket path too long for the system) /tmp/sstash-<uid>
 *   state:   $XDG_STATE_HOME/sstash (~/.local/state/sstash): what each clone has seen of team stashes
 *   git:     git.json (the mapping rules) in the config directory; git-credential-store's
 *            ~/.git-credentials and $XDG_CONFIG_HOME/git/credentials, which doctor looks for
 *
 * Every default path sstash uses is resolved here, and only here.
 */
import { join } from 'node:path'

type Env = Record<string, string | undefined>

const isMac = process.platform === 'darwin'

/**
 * The user's home directory, as os.homedir() gives it ($HOME when set): node:os is loaded only
 * when HOME is not set, as it costs every binary's start about a millisecond (docs/SPEED.md).
 */
export function homeDir(): string {
  return process.env.HOME || process.getBuiltinModule('node:os').homedir()
}

function xdg(env: Env, variable: string, fallback: string[], mac: string[]): string {
  const set = env[variable]
  if (set && set.startsWith('/')) return join(set, 'sstash')
  return join(homeDir(), ...(isMac ? mac : fallback), 'sstash')
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

/** The default stash, under {@link dataDir}: where the personal stash is when nothing names another. */
export function defaultStashPath(env: Env = process.env): string {
  return join(dataDir(env), 'stash.sstash')
}

/** The stash a command uses: `--stash`, else `$SSTASH_FILE`, else {@link defaultStashPath}. */
export function stashPath(option: string | undefined, env: Env = process.env): string {
  if (option) return option
  if (env.SSTASH_FILE) return env.SSTASH_FILE
  return defaultStashPath(env)
}

/** `~/.ssh/id_ed25519`, where ssh, sops and age users keep the key a team adds them with. */
export function defaultSshKeyPath(env: Env = process.env): string {
  return join(env.HOME || homeDir(), '.ssh', 'id_ed25519')
}

/** The file remembering the team stash generations seen, under {@link stateDir}. */
export function teamSeenPath(env: Env = process.env): string {
  return join(stateDir(env), 'team-seen')
}

/** The leak guard's directory under {@link stateDir}: its key and one fingerprint file per stash. */
export function guardDir(env: Env = process.env): string {
  return join(stateDir(env), 'guard')
}

/** The git mapping rules, `git.json` under {@link configDir}. */
export function gitRulesPath(env: Env = process.env): string {
  return join(configDir(env), 'git.json')
}

/** The plaintext files git-credential-store reads: ~/.git-credentials and $XDG_CONFIG_HOME/git/credentials (git's own rules). */
export function gitCredentialStoreFiles(env: Env = process.env): string[] {
  const home = env.HOME || homeDir()
  const config = env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config')
  return [join(home, '.git-credentials'), join(config, 'git', 'credentials')]
}

/** The file name of the agent's socket inside {@link agentDir}. */
export const SOCKET_NAME = 'agent.sock'

/**
 * The longest socket path every system takes: a socket address holds at most 104 bytes on
 * macOS and the BSDs (108 on Linux), its final NUL included.
 */
const MAX_SOCKET_PATH_BYTES = 103

/**
 * The directory holding the agent's socket: `$XDG_RUNTIME_DIR/sstash` when that variable is an
 * absolute path (systemd's private `/run/user/<uid>`); else `sstash/agent` under the state
 * directory (`$XDG_STATE_HOME`, else ~/.local/state; ~/Library/Application Support on macOS),
 * inside the user's home, where no other user can create it first. `/tmp/sstash-<uid>` only
 * when the socket path would be too long for the system; another user can take that name,
 * and the agent is then not used (see src/agent/directory.ts).
 */
export function agentDir(env: Env = process.env): string {
  const runtime = env.XDG_RUNTIME_DIR
  const candidates = [
    ...(runtime && runtime.startsWith('/') ? [join(runtime, 'sstash')] : []),
    join(stateDir(env), 'agent'),
  ]
  const fits = candidates.find((dir) => Buffer.byteLength(join(dir, SOCKET_NAME)) <= MAX_SOCKET_PATH_BYTES)
  return fits ?? `/tmp/sstash-${process.getuid?.() ?? 'user'}`
}
