// Every error code from a real cause (an injected fault or a real refusal),
// retries, timeouts, cancellation, invalid input, and the token's secrecy.
import assert from 'node:assert/strict'
import { inspect } from 'node:util'
import { after, before, describe, test } from 'node:test'

import { Client, Emulator, clientFor, rejection, wa } from './helpers.mjs'

const TOKEN = 'EAAB-node-secret-token-0123456789'
let emu
let group
let ids

before(async () => {
  emu = await Emulator.start({ accessToken: TOKEN })
  group = await emu.createGroup({ participantCap: 100 })
  ids = await emu.addJoinRequests(group, 50)
})
after(async () => {
  await emu.stop()
})

/** Every string an error shows: message, stack, and each property. */
function everything(error) {
  return [error.message, error.stack, inspect(error, { depth: 5 }), JSON.stringify(error)].join('\n')
}

const seen = []
function keep(error) {
  seen.push(error)
  return error
}

describe('error codes', () => {
  test('190 / HTTP 401 is ERR_WA_AUTH, not retried', async () => {
    const client = new Client({ accessToken: 'EAAB-wrong', baseUrl: emu.baseUrl, retryBaseDelayMs: 1 })
    await emu.resetStats()
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_AUTH'))
    assert.equal(e.status, 401)
    assert.equal(e.graphCode, 190)
    assert.equal(e.type, 'OAuthException')
    assert.equal(e.isTransient, false)
    assert.equal(e.retryAfterMs, null)
    assert.ok(wa.isWaGroupsError(e))
    assert.equal((await emu.stats()).requests, 1)
  })

  test('429 with a rate-limit code is ERR_WA_RATE_LIMITED with retryAfterMs', async () => {
    const client = clientFor(emu, { maxRetries: 0 })
    await emu.injectFault({ kind: 'rate_limited', code: 131208, retryAfterSeconds: 2 })
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_RATE_LIMITED'))
    assert.equal(e.status, 429)
    assert.equal(e.graphCode, 131208)
    assert.equal(e.retryAfterMs, 2000)
  })

  test('an unknown group is ERR_WA_NOT_FOUND (131041)', async () => {
    const client = clientFor(emu)
    const e = keep(await rejection(client.listJoinRequests('Y2FwaV9ncm91cDpub3RoZXJl'), 'ERR_WA_NOT_FOUND'))
    assert.equal(e.graphCode, 131041)
    assert.equal(e.status, 400)
    assert.equal(typeof e.fbtraceId, 'string')
  })

  test('a 5xx is ERR_WA_API with its status and Graph fields', async () => {
    const client = clientFor(emu, { maxRetries: 0 })
    await emu.injectFault({ kind: 'server_error', status: 503, isTransient: true })
    const e = keep(await rejection(client.approveJoinRequests(group, [ids[0]]), 'ERR_WA_API'))
    assert.equal(e.status, 503)
    assert.equal(e.graphCode, 2)
    assert.equal(e.isTransient, true)
    assert.equal(typeof e.title === 'string' || e.title === null, true)
  })

  test('a reset connection is ERR_WA_TRANSPORT', async () => {
    const client = clientFor(emu, { maxRetries: 0 })
    await emu.injectFault({ kind: 'connection_reset' })
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_TRANSPORT'))
    assert.equal(e.status, null)
    assert.equal(e.graphCode, null)
    assert.ok(['connection_reset', 'other', 'connect'].includes(e.transportKind), e.transportKind)
  })

  test('a slow answer past timeoutMs is ERR_WA_TIMEOUT', async () => {
    const client = clientFor(emu, { maxRetries: 0, timeoutMs: 100 })
    await emu.injectFault({ kind: 'latency', ms: 1000 })
    const started = Date.now()
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_TIMEOUT'))
    assert.ok(Date.now() - started < 900, 'rejected at the timeout, not at the answer')
    assert.equal(e.timeoutMs, 100)
  })

  test('a malformed body is ERR_WA_DECODE', async () => {
    const client = clientFor(emu, { maxRetries: 0 })
    await emu.injectFault({ kind: 'malformed_json' })
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_DECODE'))
    assert.equal(e.status, 200)
    assert.equal(typeof e.excerpt, 'string')
  })

  test('an oversize body is ERR_WA_DECODE, not buffered', async () => {
    const client = clientFor(emu, { maxRetries: 0 })
    await emu.injectFault({ kind: 'oversize_body', bytes: 5 * 1024 * 1024 })
    const e = keep(await rejection(client.listJoinRequests(group), 'ERR_WA_DECODE'))
    assert.match(e.message, /limit/)
  })

  test('every error has the same Graph properties', () => {
    const keys = ['code', 'status', 'graphCode', 'subcode', 'type', 'title', 'details', 'fbtraceId', 'isTransient', 'retryAfterMs']
    assert.ok(seen.length >= 7)
    for (const e of seen) {
      for (const k of keys) assert.ok(k in e, `${e.code} lacks ${k}`)
    }
  })
})

describe('retries', () => {
  test('a fault on the next 2 calls, then success: retried', async () => {
    const client = clientFor(emu, { maxRetries: 3 })
    await emu.resetStats()
    await emu.injectFault({ kind: 'server_error', status: 503, isTransient: true, times: 2 })
    const page = await client.listJoinRequests(group, { limit: 1 })
    assert.equal(page.data.length, 1)
    const stats = await emu.stats()
    assert.equal(stats.faultsApplied, 2)
    assert.equal(stats.requests, 3)
  })

  test('rate limits are retried too; auth never', async () => {
    const client = clientFor(emu, { maxRetries: 2 })
    await emu.injectFault({ kind: 'rate_limited', code: 80007, times: 2 })
    assert.equal((await client.listJoinRequests(group, { limit: 1 })).data.length, 1)
  })

  test('out of retries: the last error', async () => {
    const client = clientFor(emu, { maxRetries: 1 })
    await emu.resetStats()
    await emu.injectFault({ kind: 'connection_reset', times: 2 })
    await rejection(client.listJoinRequests(group), 'ERR_WA_TRANSPORT')
    assert.equal((await emu.stats()).requests, 2)
  })
})

describe('cancellation', () => {
  test('an abort rejects promptly with an AbortError and drops the request', async () => {
    const client = clientFor(emu)
    await emu.injectFault({ kind: 'latency', ms: 3000 })
    const controller = new AbortController()
    const started = Date.now()
    setTimeout(() => controller.abort(), 50)
    const e = await rejection(client.listJoinRequests(group, { signal: controller.signal }), 'ABORT_ERR')
    assert.equal(e.name, 'AbortError')
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`)
    assert.equal(e.cause, controller.signal.reason)
    await emu.clearFaults()
  })

  test('aborting some of many calls in flight stops only their requests', async () => {
    const client = clientFor(emu)
    const g = await emu.createGroup({ participantCap: 100 })
    const held = await emu.addJoinRequests(g, 40)
    await emu.injectFault({ kind: 'latency', ms: 1000, times: held.length })
    const controllers = held.map(() => new AbortController())
    const calls = held.map((id, i) => client.approveJoinRequests(g, [id], { signal: controllers[i].signal }))
    const aborted = new Set(held.filter((_, i) => i % 4 === 0))
    setTimeout(() => held.forEach((id, i) => aborted.has(id) && controllers[i].abort()), 100)
    const settled = await Promise.allSettled(calls)
    await emu.clearFaults()
    held.forEach((id, i) => {
      if (aborted.has(id)) {
        assert.equal(settled[i].status, 'rejected')
        assert.equal(settled[i].reason.code, 'ABORT_ERR')
      } else {
        assert.equal(settled[i].status, 'fulfilled')
        assert.deepEqual(settled[i].value.approved, [id])
      }
    })
    // The aborted calls' requests were dropped before the emulator acted
    // on them: their join requests are still pending.
    const pending = (await client.listJoinRequests(g)).data.map((r) => r.joinRequestId)
    assert.deepEqual(new Set(pending), aborted)
  })

  test('an already aborted signal rejects at once and sends nothing', async () => {
    const client = clientFor(emu)
    await emu.resetStats()
    const signal = AbortSignal.abort(new Error('stop'))
    for (const call of [
      () => client.listJoinRequests(group, { signal }),
      () => client.approveJoinRequests(group, [ids[0]], { signal }),
      () => client.rejectJoinRequests(group, [ids[0]], { signal }),
      () => client.approveAll(group, { signal }),
      () => client.rejectAll(group, { signal }),
      () => client.joinRequests(group, { signal }).next(),
    ]) {
      const e = await rejection(call(), 'ABORT_ERR')
      assert.equal(e.cause.message, 'stop')
    }
    assert.equal((await emu.stats()).requests, 0)
  })

  test('a finished call leaves no listener on a shared signal', async () => {
    const client = clientFor(emu)
    const controller = new AbortController()
    const { getEventListeners } = await import('node:events')
    await Promise.all(
      Array.from({ length: 20 }, () => client.listJoinRequests(group, { limit: 1, signal: controller.signal })),
    )
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0)
  })

  test('an abort during joinRequests rejects next() and ends the iteration', async () => {
    const client = clientFor(emu)
    const controller = new AbortController()
    const it = client.joinRequests(group, { limit: 1, signal: controller.signal })
    assert.equal((await it.next()).done, false)
    await emu.injectFault({ kind: 'latency', ms: 3000 })
    const started = Date.now()
    setTimeout(() => controller.abort(), 50)
    await rejection(it.next(), 'ABORT_ERR')
    assert.ok(Date.now() - started < 1000)
    assert.deepEqual(await it.next(), { done: true })
    await emu.clearFaults()
  })

  test('a signal that is not an AbortSignal is a TypeError rejection', async () => {
    const client = clientFor(emu)
    const e = await rejection(client.listJoinRequests(group, { signal: 'soon' }), 'ERR_INVALID_ARG_TYPE')
    assert.ok(e instanceof TypeError)
  })
})

describe('invalid input', () => {
  test('rejects (never throws), names the field, and sends nothing', async () => {
    const client = clientFor(emu)
    await emu.resetStats()
    const cases = [
      [() => client.listJoinRequests('a/b'), 'groupId'],
      [() => client.listJoinRequests(42), 'groupId'],
      [() => client.listJoinRequests(undefined), 'groupId'],
      [() => client.listJoinRequests(group, { limit: 0 }), 'limit'],
      [() => client.listJoinRequests(group, { limit: -1 }), 'limit'],
      [() => client.listJoinRequests(group, { limit: 1.5 }), 'limit'],
      [() => client.listJoinRequests(group, { after: 'a b' }), 'after'],
      [() => client.approveJoinRequests(group, []), 'joinRequestIds'],
      [() => client.approveJoinRequests(group, 'not-a-list'), 'joinRequestIds'],
      [() => client.approveJoinRequests(group, ['ok', 7]), 'joinRequestId'],
      [() => client.rejectJoinRequests(group, ['a b']), 'joinRequestId'],
      [() => client.approveAll('..'), 'groupId'],
      [() => client.rejectAll(''), 'groupId'],
    ]
    for (const [call, field] of cases) {
      let promise
      assert.doesNotThrow(() => {
        promise = call()
      })
      assert.ok(promise instanceof Promise)
      const e = await rejection(promise, 'ERR_WA_INVALID_INPUT')
      assert.equal(e.field, field, e.message)
      assert.match(e.message, new RegExp(`invalid ${field}`))
    }
    const e = await rejection(client.approveJoinRequests(group, ['ok', 'a b']), 'ERR_WA_INVALID_INPUT')
    assert.equal(e.index, 1)
    assert.equal((await emu.stats()).requests, 0)
  })

  test('the constructor throws ERR_WA_INVALID_INPUT synchronously, naming the field', () => {
    const cases = [
      [{}, 'accessToken'],
      [{ accessToken: 7 }, 'accessToken'],
      [{ accessToken: 'ok', apiVersion: '23' }, 'apiVersion'],
      [{ accessToken: 'ok', baseUrl: 'http://example.com' }, 'baseUrl'],
      [{ accessToken: 'ok', userAgent: 'no version' }, 'userAgent'],
      [{ accessToken: 'ok', timeoutMs: 0 }, 'timeout'],
      [{ accessToken: 'ok', timeoutMs: -5 }, 'timeout'],
      [{ accessToken: 'ok', timeoutMs: 'x' }, 'timeout'],
      [{ accessToken: 'ok', maxRetries: -1 }, 'maxRetries'],
      [{ accessToken: 'ok', maxIdsPerRequest: 0 }, 'maxIdsPerRequest'],
      [{ accessToken: 'ok', maxConcurrency: 0 }, 'maxConcurrency'],
      [{ accessToken: 'ok', maxConcurrency: 2.5 }, 'maxConcurrency'],
    ]
    for (const [options, field] of cases) {
      assert.throws(() => new Client(options), (e) => {
        assert.ok(e instanceof Error)
        assert.equal(e.code, 'ERR_WA_INVALID_INPUT')
        assert.equal(e.field, field, e.message)
        return true
      })
    }
  })
})

describe('the access token', () => {
  test('appears in no message, property or stack', async () => {
    const bad = `${TOKEN} with a space`
    assert.throws(() => new Client({ accessToken: bad }), (e) => {
      assert.ok(!everything(e).includes(TOKEN))
      return true
    })
    const client = clientFor(emu, { maxRetries: 0 })
    assert.ok(!inspect(client, { showHidden: true, depth: 5 }).includes(TOKEN))
    const errors = [...seen]
    for (const fault of [{ kind: 'server_error', status: 500 }, { kind: 'malformed_json' }, { kind: 'connection_reset' }]) {
      await emu.injectFault(fault)
      errors.push(await client.listJoinRequests(group).catch((e) => e))
    }
    errors.push(await client.listJoinRequests('a/b').catch((e) => e))
    for (const e of errors) {
      assert.ok(e instanceof Error)
      assert.ok(!everything(e).includes(TOKEN), `${e.code} shows the token`)
    }
  })
})
