// Hostile or absurd arguments: the process survives and gets a typed error.
// Calls that used to abort the process run in a child process, so that an
// abort fails the test instead of killing the runner.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { after, before, test } from 'node:test'

import { Client, Emulator, clientFor, packageDir, rejection, wa } from './helpers.mjs'

let emu
let group

before(async () => {
  emu = await Emulator.start()
  group = await emu.createGroup({ participantCap: 100 })
})
after(async () => {
  await emu.stop()
})

/** Runs `body` (an async function body with `client` and `group` in
 * scope) in a child Node process; returns what it printed. */
function child(body) {
  const script = `
    const wa = require('wa-groups')
    const client = new wa.Client({ accessToken: ${JSON.stringify(emu.accessToken)}, baseUrl: ${JSON.stringify(emu.baseUrl)} })
    const group = ${JSON.stringify(group)}
    const show = async (call) => {
      try { await call(); console.log('NO ERROR') }
      catch (e) { console.log(e.code, e.field ?? '') }
    }
    ;(async () => { ${body} })()
  `
  const done = spawnSync(process.execPath, ['-e', script], { cwd: packageDir, encoding: 'utf8', timeout: 120_000 })
  assert.equal(done.status, 0, `child exited with ${done.status} (${done.signal}): ${done.stderr}`)
  return done.stdout.trim().split('\n')
}

test('an array claiming length 2**32-1 is invalid input, not an abort', async () => {
  await emu.resetStats()
  const out = child(`
    const ids = []
    ids.length = 2 ** 32 - 1
    await show(() => client.approveJoinRequests(group, ids))
    await show(() => client.rejectJoinRequests(group, ids))
  `)
  assert.deepEqual(out, ['ERR_WA_INVALID_INPUT joinRequestIds', 'ERR_WA_INVALID_INPUT joinRequestIds'])
  assert.equal((await emu.stats()).requests, 0)
})

test('ID lists over the cap are refused before anything is sent', async () => {
  await emu.resetStats()
  const e = await rejection(clientFor(emu).approveJoinRequests(group, new Array(1_000_001).fill('JR1')), 'ERR_WA_INVALID_INPUT')
  assert.equal(e.field, 'joinRequestIds')
  assert.match(e.message, /at most 1000000/)
  assert.equal((await emu.stats()).requests, 0)
})

test('a signal whose aborted is not a boolean is a TypeError', async () => {
  const client = clientFor(emu)
  for (const aborted of ['yes', 1, null, undefined, {}]) {
    const signal = { aborted, addEventListener() {}, removeEventListener() {} }
    const e = await rejection(client.listJoinRequests(group, { signal }), 'ERR_INVALID_ARG_TYPE')
    assert.ok(e instanceof TypeError, String(aborted))
  }
})

const LONE = ['\uD800', 'a\uDC00b', 'x\uDBFF']

test('a lone surrogate in an ID or a group is invalid input, not U+FFFD', async () => {
  await emu.resetStats()
  const client = clientFor(emu)
  for (const bad of LONE) {
    let e = await rejection(client.approveJoinRequests(group, ['JR1', `JR${bad}`]), 'ERR_WA_INVALID_INPUT')
    assert.equal(e.field, 'joinRequestId')
    assert.equal(e.index, 1)
    assert.match(e.reason, /lone surrogate/)
    e = await rejection(client.rejectJoinRequests(`${group}${bad}`, ['JR1']), 'ERR_WA_INVALID_INPUT')
    assert.equal(e.field, 'groupId')
    e = await rejection(client.listJoinRequests(group, { after: `c${bad}` }), 'ERR_WA_INVALID_INPUT')
    assert.equal(e.field, 'after')
    const it = client.joinRequests(group, { before: bad })
    e = await rejection(it.next(), 'ERR_WA_INVALID_INPUT')
    assert.equal(e.field, 'before')
  }
  assert.equal((await emu.stats()).requests, 0)
  // A real U+FFFD is a character like any other: sent, and refused by the
  // server as unknown, not by the client.
  const outcome = await client.approveJoinRequests(group, ['JR\uFFFD'])
  assert.deepEqual(outcome.failed.map((f) => f.joinRequestId), ['JR\uFFFD'])
})

test('a lone surrogate in a setting or a webhook secret is refused', () => {
  for (const bad of LONE) {
    assert.throws(
      () => new Client({ accessToken: `EAAB${bad}token`, baseUrl: emu.baseUrl }),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'accessToken' && !e.message.includes(bad),
    )
    assert.throws(
      () => new Client({ accessToken: 'tok', userAgent: `app${bad}/1.0` }),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'userAgent',
    )
    assert.throws(
      () => wa.signWebhook(`secret${bad}`, '{}'),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'appSecret',
    )
    assert.throws(
      () => wa.verifySignature(`secret${bad}`, '{}', 'sha256=00'),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'appSecret',
    )
    assert.throws(() => wa.signWebhook('secret', `{"a":"${bad}"}`), TypeError)
    assert.throws(() => wa.parseWebhook(`{"object":"${bad}"}`), TypeError)
    assert.throws(
      () => wa.verifySignature('secret', 'body', `sha256=${bad}`),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'signature',
    )
  }
})

// Strings are read into a small buffer in one pass when they fit, and
// again at full length when they may not (src/args.rs): every length
// around that buffer's edge, with characters of 1 to 4 UTF-8 bytes, must
// arrive as exactly its UTF-8 bytes. signWebhook signs the bytes it read.
test('strings around the one-pass read buffer arrive whole, in every UTF-8 width', () => {
  for (const ch of ['a', 'é', '€', '😀']) {
    for (let bytes = 230; bytes <= 270; bytes++) {
      const body = 'x'.repeat(bytes % Buffer.byteLength(ch)) + ch.repeat(Math.floor(bytes / Buffer.byteLength(ch)))
      const secret = `s${body}`
      const expected = `sha256=${createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(body, 'utf8')).digest('hex')}`
      assert.equal(wa.signWebhook(secret, body), expected, `${Buffer.byteLength(body)} bytes of ${ch}`)
    }
  }
})
