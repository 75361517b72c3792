/**
 * `sstash/agent`: the agent's client: hold an opened stash for a while, forget it, ask what it
 * holds. The wire protocol is in docs/AGENT.md.
 * @module sstash/agent
 */
export { agentUnlock, agentLock, agentStatus, type AgentStatus } from './client.js'
export { parseDuration, DEFAULT_AGENT_TIMEOUT_MS } from './duration.js'
