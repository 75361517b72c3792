import type { CAC } from 'cac'

/** Registers `sstash unlock`, `sstash lock` and `sstash agent ...` (owned by the agent work). */
export function registerAgentCommands(cli: CAC): void {
  void cli
}
