// `Moderator`: the Rust moderation engine mounted in Node servers. Every
// test runs for real: the emulator delivers signed webhooks over HTTP to
// `requestListener()` under node:http or Express, or to the engine's own
// listener; the engine decides with the test's `decide`, writes a real
// SQLite file and approves or rejects through the emulator.
import assert from 'node:assert/strict'
import http from 'node:http'
import net from 'node:net'
import { after, afterEach, before, beforeEach, test } from 'node:test'

import express from 'express'

import { Emulator, rejection, wa } from './helpers.mjs'
import {
  APP_SECRET,
  VERIFY_TOKEN,
  byParity,
  deliver,
  moderatorFor,
  rules,
  settled,
  tempDir,
} from './moderation-helpers.mjs'

const unhandled = []
const onUnhandled = (reason) => unhandled.push(reason)

let emu
let group
let tmp
before(async () => {
  process.on('unhandledRejection', onUnhandled)
  emu = await Emulator.start()
})
after(async () => {
  await emu.stop()
  process.off('unhandledRejection', onUnhandled)
})
beforeEach(async () => {
  group = await emu.createGroup({ participantCap: 1000 })
  tmp = tempDir()
})
afterEach(() => tmp.cleanup())

/** Serves `listener` with node:http on a free port; resolves to [url, close]. */
async function serve(listener) {
  const server = http.createServer(listener)
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  const close = () =>
    new Promise((resolve) => {
      server.close(resolve)
      server.closeAllConnections()
    })
  return [`http://127.0.0.1:${port}`, close]
}

async function checkApplied(want) {
  assert.deepEqual(await emu.pendingJoinRequests(group), [])
  const approved = Object.values(want).filter(([state]) => state === 'approved').length
  assert.equal((await emu.participants(group)).length, approved)
}

test('requestListener under node:http decides every delivery (sync decide)', async () => {
  const m = moderatorFor(emu, tmp.dir, { decide: byParity })
  await m.start()
  assert.equal(m.running, true)
  assert.equal(m.address, null)
  const [url, close] = await serve(m.requestListener())
  try {
    const want = await deliver(emu, group, `${url}/webhook`, 6)
    assert.deepEqual(rules(await settled(m, 6)), want)
    await checkApplied(want)
  } finally {
    await close()
    await m.stop()
  }
  assert.equal(m.running, false)
})

test('requestListener under Express decides every delivery (async decide)', async () => {
  const m = moderatorFor(emu, tmp.dir, {
    decide: async (req) => {
      await new Promise((r) => setImmediate(r))
      return byParity(req)
    },
  })
  await m.start()
  const app = express()
  app.all('/webhook', m.requestListener())
  app.post('/raw', express.raw({ type: '*/*' }), m.requestListener())
  app.post('/parsed', express.json(), m.requestListener())
  const [url, close] = await serve(app)
  try {
    const want = await deliver(emu, group, `${url}/webhook`, 6)
    assert.deepEqual(rules(await settled(m, 6)), want)
    await checkApplied(want)

    const handshake = await fetch(
      `${url}/webhook?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=c42`,
    )
    assert.equal(await handshake.text(), 'c42')
    // express.raw leaves the raw bytes: they reach the engine, which
    // checks the signature.
    const unsigned = await fetch(`${url}/raw`, { method: 'POST', body: '{}' })
    assert.equal(unsigned.status, 401)
    // A JSON body parser consumed the bytes the signature covers.
    const parsed = await fetch(`${url}/parsed`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    assert.equal(parsed.status, 500)
    assert.match(await parsed.text(), /raw request body.*express\.raw/s)
  } finally {
    await close()
    await m.stop()
  }
})

for (const [kind, decide, reason] of [
  ['rejecting', async () => Promise.reject(new Error('crm is down')), /crm is down/],
  ['throwing', () => {
    throw new TypeError('no idea')
  }, /no idea/],
  ['wrong answer', () => 'Approve', /^decide returned "Approve"; expected "approve", "reject" or "hold"$/],
]) {
  test(`a ${kind} decide holds the request and the engine goes on`, async () => {
    const m = moderatorFor(emu, tmp.dir, { decide })
    const { port } = await m.listen()
    try {
      const ids = Object.keys(await deliver(emu, group, `http://127.0.0.1:${port}/webhook`, 3))
      const status = await settled(m, 3)
      assert.deepEqual(rules(status), Object.fromEntries(ids.map((id) => [id, ['held', 'decider_panicked']])))
      // The record says why.
      for (const r of status.requests) assert.match(r.reason, reason)
      assert.equal((await emu.pendingJoinRequests(group)).length, 3)
    } finally {
      await m.stop()
    }
    assert.deepEqual(unhandled, [])
  })
}

test('a decide slower than deciderTimeoutMs holds the request', async () => {
  const m = moderatorFor(emu, tmp.dir, {
    deciderTimeoutMs: 200,
    decide: () => new Promise((resolve) => setTimeout(() => resolve('approve'), 2_000).unref()),
  })
  const { port } = await m.listen()
  try {
    const ids = Object.keys(await deliver(emu, group, `http://127.0.0.1:${port}/webhook`, 2))
    const status = await settled(m, 2)
    assert.deepEqual(rules(status), Object.fromEntries(ids.map((id) => [id, ['held', 'decider_timeout']])))
    assert.deepEqual(status.requests.map((r) => r.reason), ['no answer within 200ms', 'no answer within 200ms'])
  } finally {
    await m.stop()
  }
})

test('listen() serves, status() is the CLI JSON, stop() releases the port', async () => {
  const m = moderatorFor(emu, tmp.dir, { decide: byParity })
  const empty = await m.status()
  assert.deepEqual(Object.keys(empty).sort(), ['groups', 'requests', 'total'])
  assert.deepEqual(Object.keys(empty.total).sort(), [
    'approved', 'approving', 'failed', 'gone', 'held', 'pending', 'rejected', 'rejecting', 'revoked',
  ])
  const address = await m.listen(0, '127.0.0.1')
  assert.equal(address.host, '127.0.0.1')
  assert.ok(address.port > 0)
  assert.deepEqual(m.address, address)
  await rejection(m.listen(), 'ERR_WA_MODERATION')
  const base = `http://127.0.0.1:${address.port}`
  try {
    assert.equal(await (await fetch(`${base}/healthz`)).text(), 'ok\n')
    const want = await deliver(emu, group, `${base}/webhook`, 4)
    const status = await settled(m, 4)
    assert.deepEqual(rules(status), want)
    assert.equal(status.groups[0].group_id, group)
    const states = Object.values(want).map(([s]) => s)
    assert.equal(status.total.approved, states.filter((s) => s === 'approved').length)
    assert.equal(status.total.rejected, states.filter((s) => s === 'rejected').length)
  } finally {
    await m.stop()
  }
  assert.equal(m.address, null)
  // The port is free again.
  const again = net.createServer()
  await new Promise((resolve, reject) => {
    again.once('error', reject)
    again.listen(address.port, '127.0.0.1', resolve)
  })
  await new Promise((resolve) => again.close(resolve))
})

test('a restart on the same SQLite file loses nothing', async () => {
  const first = moderatorFor(emu, tmp.dir, { decide: () => 'hold' })
  let { port } = await first.listen()
  const held = Object.keys(await deliver(emu, group, `http://127.0.0.1:${port}/webhook`, 3))
  await settled(first, 3)
  await first.stop()

  const second = moderatorFor(emu, tmp.dir, { decide: byParity })
  ;({ port } = await second.listen())
  try {
    const heldRules = Object.fromEntries(held.map((id) => [id, ['held', 'callback']]))
    assert.deepEqual(rules(await second.status()), heldRules)
    const more = await deliver(emu, group, `http://127.0.0.1:${port}/webhook`, 2)
    assert.deepEqual(rules(await settled(second, 5)), { ...heldRules, ...more })
  } finally {
    await second.stop()
  }
})

test('bad options throw ERR_WA_INVALID_INPUT naming the option, never a secret', () => {
  const base = {
    accessToken: 'token-s3cret',
    appSecret: 'app-s3cret',
    verifyToken: 'verify-s3cret',
    store: `sqlite:${tmp.dir}/bad.db`,
  }
  for (const [options, field] of [
    [{}, 'policy'],
    [{ decide: byParity, policy: 'p.toml' }, 'decide'],
    [{ decide: 42 }, 'decide'],
    [{ decide: byParity, batchWindowMs: 'soon' }, 'batchWindowMs'],
    [{ decide: byParity, reconcileEveryMs: 0 }, 'reconcileEveryMs'],
    [{ decide: byParity, deciderTimeoutMs: -5 }, 'deciderTimeoutMs'],
    [{ decide: byParity, appSecret: '' }, 'appSecret'],
    [{ decide: byParity, verifyToken: 7 }, 'verifyToken'],
    [{ decide: byParity, baseUrl: 'ftp://x' }, 'baseUrl'],
    [{ decide: byParity, store: 'redis://x' }, 'store'],
    [{ decide: byParity, groups: 'G1' }, 'groups'],
    [{ decide: byParity, app_secret: 'x' }, 'app_secret'],
    [{ policy: '/nonexistent/policy.toml' }, 'policy'],
  ]) {
    let error
    try {
      new wa.Moderator({ ...base, ...options })
    } catch (e) {
      error = e
    }
    assert.ok(wa.isWaGroupsError(error), `${field}: ${error}`)
    assert.equal(error.code, 'ERR_WA_INVALID_INPUT')
    assert.equal(error.field, field, error.message)
    for (const secret of ['token-s3cret', 'app-s3cret', 'verify-s3cret']) {
      assert.ok(!error.message.includes(secret) && !error.reason.includes(secret), error.message)
    }
  }
  assert.throws(() => new wa.Moderator('nope'), { code: 'ERR_WA_INVALID_INPUT', field: 'options' })
})
