// The package's sub-path entry points, each as a program imports it: `sstash/git`, `sstash/env`,
// `sstash/team` and `sstash/agent`. Run it with `node examples/library/sub-paths.mjs` after
// `npm run build`. Pure calls only: it writes nothing and asks for nothing.
import { formatCredential, parseCredential } from 'sstash/git'
import { envFromSelections, formatEnv, isDangerousName } from 'sstash/env'
import { parseRecipient } from 'sstash/team'
import { parseDuration } from 'sstash/agent'

// git's credential protocol, as git-credential-sstash reads and answers it.
const request = parseCredential('protocol=https\nhost=example.com\nusername=alice\n\n')
console.log(`git asks for ${request.protocol}://${request.username}@${request.host}`)
const answer = new TextDecoder().decode(formatCredential({ username: 'alice', password: 'example-token', wwwauth: [], capability: [] }))
console.log(`the helper answers ${answer.split('\n').length - 1} lines`)

// Variables from a selected subtree, named as sstash-run names them: the key path below the
// selection joined with _, each letter's case kept.
const bytes = (text) => new TextEncoder().encode(text)
const entries = [
  { key: ['project', 'myapp', 'db', 'password'], value: bytes('example-db-password') },
  { key: ['project', 'myapp', 'API_KEY'], value: bytes('example-api-key') },
]
const vars = envFromSelections([{ base: ['project', 'myapp'], entries }])
console.log(`variables: ${[...vars.keys()].join(', ')}`)
console.log(`as a .env: ${formatEnv([...vars.values()], 'dotenv').trim().split('\n').length} lines`)
console.log(`PROMPT_COMMAND refused: ${isDangerousName('PROMPT_COMMAND')}`)

// A team member's public key, as `sstash team add --key` takes it.
const recipient = parseRecipient('age1gl6e0rudyjqjxwnxfpuy5nerky8l4w8j966f69lcjlfxy5j3tqwqw0x9nx')
console.log(`recipient: ${recipient.text.slice(0, 12)}...`)

// The agent's timeouts, as SSTASH_AGENT_TIMEOUT spells them.
console.log(`15m is ${parseDuration('15m')} ms`)
