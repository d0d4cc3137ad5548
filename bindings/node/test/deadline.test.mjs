// totalTimeoutMs: one deadline for a whole call, beside the per-attempt
// timeoutMs, against the in-process emulator's latency fault.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { Client, Emulator, clientFor, rejection } from './helpers.mjs'

let emu
let group

before(async () => {
  emu = await Emulator.start()
  group = await emu.createGroup({ participantCap: 100 })
})
after(async () => {
  await emu.stop()
})

test('totalTimeoutMs ends a slow call with ERR_WA_TIMEOUT', async () => {
  // The per-attempt timeout (30 s) cannot be what ends it.
  await emu.injectFault({ kind: 'latency', ms: 3000 })
  const e = await rejection(clientFor(emu, { totalTimeoutMs: 200 }).listJoinRequests(group), 'ERR_WA_TIMEOUT')
  assert.equal(e.timeoutMs, 200)
  await emu.clearFaults()
})

test('totalTimeoutMs covers retries and their waits', async () => {
  // Each attempt times out after 100 ms and is retried; four attempts take
  // longer than the call's 300 ms, so the deadline ends the call.
  await emu.injectFault({ kind: 'latency', ms: 1000, times: 5 })
  const client = new Client({
    accessToken: emu.accessToken,
    baseUrl: emu.baseUrl,
    timeoutMs: 100,
    totalTimeoutMs: 300,
    maxRetries: 3,
  })
  const e = await rejection(client.approveJoinRequests(group, ['JR1']), 'ERR_WA_TIMEOUT')
  assert.equal(e.timeoutMs, 300)
  await emu.clearFaults()
})

test('totalTimeoutMs is validated', () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(
      () => new Client({ accessToken: 'tok', totalTimeoutMs: bad }),
      (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'totalTimeout',
    )
  }
  assert.throws(
    () => new Client({ accessToken: 'tok', totalTimeoutMs: '100' }),
    (e) => e.code === 'ERR_WA_INVALID_INPUT' && e.field === 'totalTimeout',
  )
})
