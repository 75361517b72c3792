// A tiny server configured only through its environment, as with a .env file. `npm start`
// runs it through sstash-run, which loads the key paths below project/myapp from the stash.
// It prints which variables it got, with the values masked, and answers one request.
import { createServer } from 'node:http'

const NAMES = ['DATABASE_URL', 'API_TOKEN', 'GREETING']
const masked = (value) => (value === undefined ? '(not set)' : `${'*'.repeat(Math.min(value.length, 8))} (${value.length} characters)`)

for (const name of NAMES) console.log(`${name}=${masked(process.env[name])}`)

const server = createServer((request, response) => {
  response.end(`${process.env.GREETING ?? 'hello'}\n`)
})
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address()
  console.log(`listening on 127.0.0.1:${port}`)
  // `npm start -- --once`: answer one request from ourselves and stop (what the tests do).
  if (process.argv.includes('--once')) {
    const reply = await (await fetch(`http://127.0.0.1:${port}/`)).text()
    console.log(`answered: ${reply.trim()}`)
    server.close()
  }
})
