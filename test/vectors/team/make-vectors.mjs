// Makes the team stash test vectors from the built dist/ (run `npm run build` first):
//   node test/vectors/team/make-vectors.mjs
// The files are committed; this script documents how each one was made. Every forged file is
// made as the attacker of SECURITY.md would: with the library's own cryptography, push access,
// every public key and old file, and a removed member's keys, but no current member's key.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const here = import.meta.dirname
const dist = join(here, '../../../dist/team')
const { parseIdentities } = await import(join(dist, 'keys.js'))
const { createTeam, addMember, removeMember } = await import(join(dist, 'membership.js'))
const { TeamStash } = await import(join(dist, 'team-stash.js'))
const { serializeTeamFile, slotOf } = await import(join(dist, 'format.js'))
const { parseTeamFile } = await import(join(dist, 'parse.js'))
const { openKeyring } = await import(join(dist, 'keyring.js'))
const { ageEncrypt } = await import(join(dist, 'age-file.js'))
const { parseRecipient } = await import(join(dist, 'keys.js'))
const { fingerprintOf, newScopeKey, sealValue } = await import(join(dist, 'scope-keys.js'))
const { newSigningKey, signBytes, endorsementMessage } = await import(join(dist, 'signing.js'))

const work = mkdtempSync(join(tmpdir(), 'team-vectors-'))
const env = { XDG_STATE_HOME: join(work, 'state') }
const identity = (name) => parseIdentities(readFileSync(join(here, `${name}.txt`), 'utf8'), name)
const recipient = (name) => identity(name)[0].recipient
const utf8 = (text) => new Uint8Array(Buffer.from(text))
const wrapTo = async (key, to) => Buffer.from(await ageEncrypt(key, [parseRecipient(to)])).toString('base64')

async function team(file, rotate) {
  const path = join(work, file)
  await createTeam(path, 'alice', recipient('alice'), [{ name: 'dev', prefix: ['dev'] }, { name: 'prod', prefix: ['prod'] }], env)
  const alice = await TeamStash.open(path, identity('alice'), env)
  await addMember(alice, 'bob', recipient('bob'), ['dev'])
  await addMember(alice, 'carol', recipient('carol'), ['dev'])
  await alice.update((tree) => {
    tree.write(['dev', 'api', 'token'], utf8('dev-token'))
    tree.write(['dev', 'with space', 'é'], utf8('unicode'))
    tree.write(['dev', 'removed'], utf8('soon removed'))
    tree.write(['prod', 'db', 'password'], utf8('prod-password'))
  })
  // A removal leaves a tombstone, tagged by dev's key.
  await alice.update((tree) => tree.remove(['dev', 'removed']))
  const before = readFileSync(path, 'utf8')
  let beforeSet = before
  if (rotate) {
    await removeMember(alice, 'carol', env, new Date('2026-12-01T12:00:00Z'))
    await alice.writeValue(['dev', 'after'], utf8('set after the rotation'))
    beforeSet = readFileSync(path, 'utf8')
    // Version 2 of dev/api/token: version 1 (in beforeSet) is what a replay copies back.
    await alice.writeValue(['dev', 'api', 'token'], utf8('dev-token-2'))
  }
  return { text: readFileSync(path, 'utf8'), before, beforeSet }
}

const { text: basic } = await team('basic.sstash', false)
const { text: rotated, before: beforeRemoval, beforeSet } = await team('rotated.sstash', true)
const out = {}
const write = (name, text, expect) => {
  writeFileSync(join(here, name), text)
  out[name] = expect
}
const parse = (text) => parseTeamFile(Buffer.from(text), 'vector')
const edit = (text, fn) => {
  const file = parse(text)
  fn(file)
  return Buffer.from(serializeTeamFile(file)).toString()
}
const lines = (text) => text.split('\n')

write('good_basic.sstash', basic, {
  alice: { 'dev/api/token': 'dev-token', 'dev/with space/é': 'unicode', 'prod/db/password': 'prod-password' },
  bob: { 'dev/api/token': 'dev-token', 'dev/with space/é': 'unicode' },
})
write('good_rotated.sstash', rotated, {
  alice: { 'dev/api/token': 'dev-token-2', 'dev/after': 'set after the rotation', 'dev/with space/é': 'unicode', 'prod/db/password': 'prod-password' },
  bob: { 'dev/api/token': 'dev-token-2', 'dev/after': 'set after the rotation', 'dev/with space/é': 'unicode' },
  carol: 'NOT_A_MEMBER',
  exposed: ['dev/with space/é'],
})
// Class 1: an outsider's scope with a longer prefix, wrapped to every member and to themselves.
write('fail_planted_scope.sstash', await (async () => {
  const f = parse(basic)
  const key = newScopeKey()
  f.scopes.set('api', { name: 'api', prefix: ['dev', 'api'], gen: 1, fingerprint: fingerprintOf(key) })
  f.members.set('eve', recipient('carol'))
  for (const [member, to] of f.members) f.wraps.set(`api ${member}`, { scope: 'api', gen: 1, member, file: await wrapTo(key, to) })
  f.values.set('/dev/api/token', sealValue(key, f.teamId, { path: ['dev', 'api', 'token'], scope: 'api', gen: 1, since: 1, version: 9 }, utf8('eve chose this')))
  return Buffer.from(serializeTeamFile(f)).toString()
})(), 'TEAM_TAMPERED')
write('fail_changed_prefix.sstash', edit(basic, (f) => { f.scopes.get('dev').prefix = [] }), 'TEAM_TAMPERED')
// A member, or a recipient of a scope, planted by an outsider.
write('fail_planted_member.sstash', edit(basic, (f) => { f.members.set('eve', recipient('carol')); f.admins.add('eve') }), 'TEAM_TAMPERED')
write('fail_planted_recipient.sstash', await (async () => {
  const f = parse(basic)
  f.members.set('eve', recipient('carol'))
  f.wraps.set('prod eve', { scope: 'prod', gen: 1, member: 'eve', file: await wrapTo(new Uint8Array(32), recipient('carol')) })
  return Buffer.from(serializeTeamFile(f)).toString()
})(), 'TEAM_TAMPERED')
write('fail_changed_recipient.sstash', edit(basic, (f) => f.members.set('bob', recipient('carol'))), 'TEAM_TAMPERED')
write('fail_swapped_wraps.sstash', edit(basic, (f) => {
  const [a, b] = [f.wraps.get('dev alice'), f.wraps.get('prod alice')]
  ;[a.file, b.file] = [b.file, a.file]
}), 'TEAM_TAMPERED')
// A signing key of a new generation that the first did not endorse.
write('fail_forged_signing_key.sstash', edit(basic, (f) => {
  const forged = newSigningKey()
  f.signKeys.set(2, { gen: 2, publicKey: forged.publicKey, endorsement: signBytes(forged.seed, endorsementMessage(f.teamId, 2, forged.publicKey)) })
  f.signWraps.get('alice').gen = 2
  f.signature = signBytes(forged.seed, 'anything')
}), 'TEAM_TAMPERED')
// Class 3: carol, removed, writes with her old key of dev (a new value and an overwrite).
write('fail_removed_member_write.sstash', edit(rotated, (f) => {
  const old = openKeyring(parse(beforeRemoval), identity('carol'), 'old').key('dev')
  for (const name of ['token', 'new'])
    f.values.set(`/dev/api/${name}`, sealValue(old, f.teamId, { path: ['dev', 'api', name], scope: 'dev', gen: 1, since: 1, version: 9 }, utf8('carol chose this')))
}), 'TEAM_STALE')
// An older membership (before carol's removal), on a clone that has seen the rotation.
write('fail_older_membership.sstash', beforeRemoval, { after: 'good_rotated.sstash', code: 'TEAM_ROLLBACK' })
// The whole file replaced by another team at the same path.
write('fail_replaced_team.sstash', basic, { after: 'good_rotated.sstash', code: 'TEAM_REPLACED' })
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
// An outsider's tombstone in place of a value, and a conflict record they planted: the tag does not verify.
const forgedTombstone = (path, scope) => ({ path, scope, gen: 1, version: 9, tag: Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64') })
write('fail_planted_tombstone.sstash', edit(basic, (f) => {
  f.values.delete('/dev/api/token')
  f.tombstones.set('/dev/api/token', forgedTombstone(['dev', 'api', 'token'], 'dev'))
}), 'TEAM_TAMPERED')
write('fail_planted_conflict.sstash', edit(basic, (f) => f.conflicts.set('/dev/api/token', forgedTombstone(['dev', 'api', 'token'], 'dev'))), 'TEAM_TAMPERED')
// A replay: version 1 of dev/api/token copied back over version 2, on a clone that read version 2.
write('fail_replayed_value.sstash', edit(rotated, (f) => f.values.set('/dev/api/token', parse(beforeSet).values.get('/dev/api/token'))), { after: 'good_rotated.sstash', code: 'TEAM_ROLLBACK' })
// The payloads of a pre-release draft of this format: an untagged tombstone, a value without a version.
write('fail_prerelease_tombstone.sstash', basic.replace(/(value [0-9a-f]{8} \/dev\/removed\n) [^\n]*\n/, '$1 -\n'), 'NOT_A_STASH')
write('fail_prerelease_value.sstash', basic.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n dev 1 1) 1 /, '$1 '), 'NOT_A_STASH')
write('fail_unsorted.sstash', (() => { const l = lines(basic); const i = l.findIndex((x) => x.startsWith('member ')); [l[i], l[i + 1]] = [l[i + 1], l[i]]; return l.join('\n') })(), 'NOT_A_STASH')
write('fail_two_line_value.sstash', basic.replace(/(value [0-9a-f]{8} \/dev\/api\/token\n [^\n]*\n)\n/, '$1'), 'NOT_A_STASH')
// The slot of /dev/api/token with its last bit flipped (the record stays under its anchor).
const slot = slotOf('/dev/api/token')
write('fail_wrong_slot.sstash', basic.replace(`value ${slot} /dev/api/token\n`, `value ${slot.slice(0, 7)}${(parseInt(slot[7], 16) ^ 1).toString(16)} /dev/api/token\n`), 'NOT_A_STASH')
write('fail_missing_anchor.sstash', basic.replace('@ 7f\n', ''), 'NOT_A_STASH')
write('fail_conflict_markers.sstash', basic.replace('member bob', '<<<<<<< HEAD\nmember bob'), 'TEAM_CONFLICT')
write('fail_version1.sstash', readFileSync(join(here, 'v1-basic.txt'), 'utf8'), 'UNSUPPORTED_FORMAT')
write('fail_version3.sstash', basic.replace('sstash-team/2 ', 'sstash-team/3 '), 'UNSUPPORTED_FORMAT')
// Class 5: shapes that were quadratic: 1,001 members is over the bound, refused at once.
write('fail_too_many_members.sstash', (() => {
  const l = lines(basic)
  const i = l.findIndex((x) => x.startsWith('member '))
  l.splice(i, 0, ...Array.from({ length: 1001 }, (_, k) => `member a${String(k).padStart(4, '0')} ${recipient('carol')}`))
  return l.join('\n')
})(), 'NOT_A_STASH')
writeFileSync(join(here, 'vectors.json'), `${JSON.stringify(out, null, 2)}\n`)
rmSync(work, { recursive: true, force: true })
