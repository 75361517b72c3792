// Makes the team stash test vectors from the built dist/ (run `npm run build` first):
//   node test/vectors/team/make-vectors.mjs
// The files are committed; this script documents how each one was made.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const here = import.meta.dirname
const dist = join(here, '../../../dist/team')
const { parseIdentities } = await import(join(dist, 'keys.js'))
const { createTeam, addMember, removeMember } = await import(join(dist, 'membership.js'))
const { TeamStash } = await import(join(dist, 'team-stash.js'))
const { parseTeamFile, serializeTeamFile, slotOf } = await import(join(dist, 'format.js'))
const { ageEncrypt } = await import(join(dist, 'age-file.js'))
const { parseRecipient } = await import(join(dist, 'keys.js'))

const work = mkdtempSync(join(tmpdir(), 'team-vectors-'))
const env = { XDG_STATE_HOME: join(work, 'state') }
const key = (name) => readFileSync(join(here, `${name}.txt`), 'utf8')
const recipient = (name) => execFileSync('age-keygen', ['-y', join(here, `${name}.txt`)], { encoding: 'utf8' }).trim()
const utf8 = (text) => new Uint8Array(Buffer.from(text))

async function team(file, rotate) {
  const path = join(work, file)
  await createTeam(path, 'alice', recipient('alice'), [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env)
  const alice = await TeamStash.open(path, parseIdentities(key('alice'), 'alice'), env)
  await addMember(alice, 'bob', recipient('bob'), ['dev'])
  await addMember(alice, 'carol', recipient('carol'), ['dev'])
  await alice.update((tree) => {
    tree.write(['dev', 'api', 'token'], utf8('dev-token'))
    tree.write(['dev', 'with space', 'é'], utf8('unicode'))
    tree.write(['prod', 'db', 'password'], utf8('prod-password'))
  })
  if (rotate) {
    await removeMember(alice, 'carol', env)
    await alice.writeValue(['dev', 'after'], utf8('set after the rotation'))
  }
  return readFileSync(path, 'utf8')
}

const basic = await team('basic.sstash', false)
const rotated = await team('rotated.sstash', true)
const out = {}
const write = (name, text, expect) => {
  writeFileSync(join(here, name), text)
  out[name] = expect
}
const edit = (text, fn) => {
  const file = parseTeamFile(Buffer.from(text), 'vector')
  fn(file)
  return Buffer.from(serializeTeamFile(file)).toString()
}
const lines = (text) => text.split('\n')

write('good_basic.sstash', basic, {
  alice: { 'dev/api/token': 'dev-token', 'dev/with space/é': 'unicode', 'prod/db/password': 'prod-password' },
  bob: { 'dev/api/token': 'dev-token', 'dev/with space/é': 'unicode' },
})
write('good_rotated.sstash', rotated, {
  alice: { 'dev/api/token': 'dev-token', 'dev/after': 'set after the rotation', 'dev/with space/é': 'unicode', 'prod/db/password': 'prod-password' },
  bob: { 'dev/api/token': 'dev-token', 'dev/after': 'set after the rotation', 'dev/with space/é': 'unicode' },
  carol: 'NOT_A_MEMBER',
  exposed: ['dev/api/token', 'dev/with space/é'],
})
write('fail_planted_member.sstash', edit(basic, (f) => f.members.set('eve', recipient('carol').replace(/.$/, 'q'))), 'TEAM_TAMPERED')
const eve = recipient('carol')
const planted = parseTeamFile(Buffer.from(basic), 'vector')
planted.members.set('eve', eve)
planted.wraps.set('prod eve', { scope: 'prod', gen: 1, member: 'eve', file: Buffer.from(await ageEncrypt(new Uint8Array(32), [parseRecipient(eve)])).toString('base64') })
write('fail_planted_wrap.sstash', Buffer.from(serializeTeamFile(planted)).toString(), 'TEAM_TAMPERED')
write('fail_swapped_values.sstash', edit(basic, (f) => {
  const [a, b] = [f.values.get('/dev/api/token'), f.values.get('/dev/with%20space/é')]
  ;[a.sealed, b.sealed] = [b.sealed, a.sealed]
}), 'TEAM_TAMPERED')
write('fail_moved_value.sstash', edit(basic, (f) => {
  const v = f.values.get('/dev/api/token')
  f.values.delete('/dev/api/token')
  f.values.set('/dev/api/tokem', { ...v, path: ['dev', 'api', 'tokem'] })
}), 'TEAM_TAMPERED')
write('fail_value_to_other_scope.sstash', edit(basic, (f) => {
  const v = f.values.get('/prod/db/password')
  f.values.delete('/prod/db/password')
  f.values.set('/dev/db/password', { ...v, path: ['dev', 'db', 'password'], scope: 'dev' })
}), 'TEAM_TAMPERED')
write('fail_swapped_wraps.sstash', edit(basic, (f) => {
  const [a, b] = [f.wraps.get('dev alice'), f.wraps.get('prod alice')]
  ;[a.file, b.file] = [b.file, a.file]
}), 'TEAM_TAMPERED')
write('fail_changed_prefix.sstash', edit(basic, (f) => { f.scopes.get('dev').prefix = [] }), 'TEAM_TAMPERED')
write('fail_changed_recipient.sstash', edit(basic, (f) => f.members.set('bob', recipient('carol'))), 'TEAM_TAMPERED')
write('fail_missing_chain.sstash', lines(rotated).filter((l) => !l.startsWith('chain ')).join('\n'), 'NOT_A_STASH')
write('fail_unsorted.sstash', (() => { const l = lines(basic); const i = l.findIndex((x) => x.startsWith('member ')); [l[i], l[i + 1]] = [l[i + 1], l[i]]; return l.join('\n') })(), 'NOT_A_STASH')
write('fail_two_line_value.sstash', basic.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n [^\n]*\n)\n/, '$1'), 'NOT_A_STASH')
// The slot of /dev/api/token with its last bit flipped (the records stay in order).
const slot = slotOf('/dev/api/token')
write('fail_wrong_slot.sstash', basic.replace(`value ${slot} /dev/api/token\n`, `value ${slot.slice(0, 7)}${(parseInt(slot[7], 16) ^ 1).toString(16)} /dev/api/token\n`), 'NOT_A_STASH')
write('fail_conflict_markers.sstash', basic.replace('member bob', '<<<<<<< HEAD\nmember bob'), 'TEAM_CONFLICT')
write('fail_version2.sstash', basic.replace('sstash-team/1 ', 'sstash-team/2 '), 'UNSUPPORTED_FORMAT')
writeFileSync(join(here, 'vectors.json'), `${JSON.stringify(out, null, 2)}\n`)
rmSync(work, { recursive: true, force: true })
