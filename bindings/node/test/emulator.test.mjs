// The Emulator test helper itself: lifecycle, state, rate limits, errors.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import { Emulator, clientFor, rejection } from './helpers.mjs'

test('new Emulator(), start(), stop(), and start again', async () => {
  const emu = new Emulator({ accessToken: 'EAAB-custom', pageSize: 2, fixedClock: 1_750_000_000 })
  assert.throws(() => emu.baseUrl, { code: 'ERR_WA_EMULATOR' })
  await emu.start()
  await rejection(emu.start(), 'ERR_WA_EMULATOR')
  assert.match(emu.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(emu.accessToken, 'EAAB-custom')
  const group = await emu.createGroup()
  const ids = await emu.addJoinRequests(group, 3)
  assert.equal(ids.length, 3)
  const page = await clientFor(emu).listJoinRequests(group)
  assert.equal(page.data.length, 2, 'the page size')
  assert.equal(page.data[0].creationTimestamp, 1_750_000_000, 'the fixed clock')
  await emu.revokeJoinRequest(group, ids[0])
  assert.equal((await emu.pendingJoinRequests(group)).length, 2)
  await emu.stop()
  await emu.stop()
  await emu.start()
  assert.deepEqual(await emu.pendingJoinRequests(await emu.createGroup()), [])
  await emu.stop()
})

test('unknown groups and bad faults reject with ERR_WA_EMULATOR', async () => {
  const emu = await Emulator.start()
  try {
    await rejection(emu.addJoinRequests('Y2FwaV9ncm91cDpub25l', 1), 'ERR_WA_EMULATOR')
    await rejection(emu.participants('Y2FwaV9ncm91cDpub25l'), 'ERR_WA_EMULATOR')
    await rejection(emu.injectFault({ kind: 'meteor' }), 'ERR_WA_EMULATOR')
    await rejection(emu.injectFault({ kind: 'server_error', status: 200 }), 'ERR_WA_EMULATOR')
    assert.equal(await emu.clearFaults(), 0)
  } finally {
    await emu.stop()
  }
})

test('absurd counts and rates reject at once, naming the field', async () => {
  const emu = await Emulator.start()
  try {
    const group = await emu.createGroup()
    for (const n of [1e300, 2 ** 53, 1_000_000]) {
      const err = await rejection(emu.addJoinRequests(group, n), 'ERR_WA_EMULATOR')
      assert.match(err.message, /count/)
    }
    await rejection(emu.setRateLimit({ perSecond: 1e-300 }), 'ERR_WA_EMULATOR')
    assert.deepEqual(await emu.pendingJoinRequests(group), [])
  } finally {
    await emu.stop()
  }
})

test('a rate limit answers 131208 with Retry-After', async () => {
  const emu = await Emulator.start()
  try {
    const group = await emu.createGroup()
    await emu.setRateLimit({ perSecond: 0.5, burst: 1 })
    const client = clientFor(emu, { maxRetries: 0 })
    await client.listJoinRequests(group)
    const e = await rejection(client.listJoinRequests(group), 'ERR_WA_RATE_LIMITED')
    assert.equal(e.graphCode, 131208)
    assert.ok(e.retryAfterMs >= 1000, String(e.retryAfterMs))
    assert.equal((await emu.stats()).rateLimited, 1)
    await emu.setRateLimit(null)
    await client.listJoinRequests(group)
  } finally {
    await emu.stop()
  }
})

test('the methods match the shared list in testdata/', () => {
  const listed = readFileSync(new URL('../../../testdata/emulator-methods.txt', import.meta.url), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  const camel = (name) => name.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
  // Node's own lifecycle: start() and stop().
  const lifecycle = new Set(['start', 'stop', 'constructor'])
  const own = Object.getOwnPropertyNames(Emulator.prototype).filter((n) => !lifecycle.has(n))
  assert.deepEqual(own.sort(), listed.map(camel).sort())
})

test('groups, participants, faults, webhooks and the clock', async () => {
  const emu = await Emulator.start({ cursorTtl: 60, fixedClock: 1_750_000_000 })
  try {
    const group = await emu.createGroup({ groupId: 'Y2FwaV9ncm91cDpub2Rl', joinApprovalMode: 'auto_approve', participantCap: 3 })
    assert.equal(group, 'Y2FwaV9ncm91cDpub2Rl')
    assert.deepEqual(await emu.groups(), [group])
    assert.equal((await emu.addParticipants(group, 2)).length, 2)
    assert.equal((await emu.participants(group)).length, 2)
    await rejection(emu.addParticipants(group, 2), 'ERR_WA_EMULATOR')
    await emu.injectFault({ kind: 'malformed_json', times: 2 })
    const faults = await emu.faults()
    assert.equal(faults[0].kind, 'malformed_json')
    assert.equal(faults[0].remaining, 2)
    assert.equal(await emu.clearFaults(), 1)
    await emu.setWebhook('http://127.0.0.1:9/hook', 'secret')
    await rejection(emu.setWebhook('https://example.com/hook', 'secret'), 'ERR_WA_EMULATOR')
    await emu.clearWebhook()
    assert.equal(await emu.now(), 1_750_000_000)
    await emu.advanceClock(61)
    assert.equal(await emu.now(), 1_750_000_061)
    await rejection(emu.advanceClock(-1), 'ERR_WA_EMULATOR')
    await rejection(emu.createGroup({ joinApprovalMode: 'sometimes' }), 'ERR_WA_EMULATOR')
  } finally {
    await emu.stop()
  }
  assert.throws(() => new Emulator({ port: 70000 }), { code: 'ERR_WA_EMULATOR' })
  assert.throws(() => new Emulator({ cursorTtl: -1 }), { code: 'ERR_WA_EMULATOR' })
})
