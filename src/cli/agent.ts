/**
 * The agent process. Clients start it detached with no stdio (see startAgent in
 * ../agent/client.ts), passing the agent directory they checked; it serves until it holds
 * nothing (see ../agent/server.ts). It has no terminal to report to: failures only set the exit code.
 */
import { realpathSync } from 'node:fs'
import { isAbsolute } from 'node:path'
import { pathToFileURL } from 'node:url'
import { agentDir } from '../locations.js'
import { runAgent } from '../agent/server.js'

/**
 * Runs the agent.
 * @param argv - `[dir]`: the agent directory; default {@link agentDir} of the environment
 */
export async function main(argv: string[]): Promise<void> {
  const dir = argv[0] ?? agentDir()
  if (!isAbsolute(dir)) {
    process.exitCode = 2
    return
  }
  try {
    await runAgent({ dir })
    process.exitCode = 0
  } catch {
    process.exitCode = 1
  }
  // Timers of connections being dropped must not keep a finished agent alive.
  process.exit()
}

// This file is both a module and the script clients spawn; only the spawned one runs.
const script = process.argv[1]
if (script !== undefined && import.meta.url === pathToFileURL(realpathSafe(script)).href) void main(process.argv.slice(2))

function realpathSafe(path: string): string {
  try {
    return realpathSync(path)
  } catch {
    return path
  }
}
