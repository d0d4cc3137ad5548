// Every Client method against the in-process emulator: results, paging,
// chunking, partial failures, the async iterator, concurrency.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { Emulator, clientFor, wa } from './helpers.mjs'

let emu
before(async () => {
  emu = await Emulator.start()
})
after(async () => {
  await emu.stop()
})

describe('listJoinRequests', () => {
  test('returns a page in camelCase with null cursors on the last page', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 3)
    const page = await client.listJoinRequests(group)
    assert.deepEqual(
      page.data.map((r) => r.joinRequestId),
      ids,
    )
    const first = page.data[0]
    assert.equal(typeof first.waId, 'string')
    assert.equal(typeof first.creationTimestamp, 'number')
    assert.equal(first.userId, null)
    assert.equal(first.parentUserId, null)
    assert.equal(first.username, null)
    assert.equal(page.after, null)
    assert.equal(page.before, null)
  })

  test('pages with limit and after', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 5)
    const seen = []
    let cursor
    let pages = 0
    do {
      const page = await client.listJoinRequests(group, { limit: 2, after: cursor })
      seen.push(...page.data.map((r) => r.joinRequestId))
      cursor = page.after ?? undefined
      pages += 1
    } while (cursor)
    assert.equal(pages, 3)
    assert.deepEqual(seen, ids)
  })

  test('business-scoped requesters carry userId and username', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    await emu.addJoinRequests(group, 1, { businessScoped: true })
    const [r] = (await client.listJoinRequests(group)).data
    assert.equal(r.waId, null)
    assert.equal(typeof r.userId, 'string')
    assert.equal(typeof r.username, 'string')
  })

  test('an empty group gives an empty page', async () => {
    const page = await clientFor(emu).listJoinRequests(await emu.createGroup())
    assert.deepEqual(page, { data: [], after: null, before: null })
  })
})

describe('joinRequests', () => {
  test('iterates every page, fetching page by page', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 7)
    await emu.resetStats()
    const it = client.joinRequests(group, { limit: 3 })
    assert.equal(it[Symbol.asyncIterator](), it)
    const first = await it.next()
    assert.equal(first.done, false)
    assert.equal(first.value.joinRequestId, ids[0])
    assert.equal((await emu.stats()).endpoints.list, 1, 'one page fetched for the first item')
    const rest = []
    for await (const r of it) rest.push(r.joinRequestId)
    assert.deepEqual([ids[0], ...rest], ids)
    assert.equal((await emu.stats()).endpoints.list, 3)
    assert.deepEqual(await it.next(), { done: true })
  })

  test('break stops fetching', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    await emu.addJoinRequests(group, 6)
    await emu.resetStats()
    for await (const r of client.joinRequests(group, { limit: 2 })) {
      assert.ok(r.joinRequestId)
      break
    }
    assert.equal((await emu.stats()).endpoints.list, 1)
  })

  test('invalid input rejects the first next()', async () => {
    const it = clientFor(emu).joinRequests('bad/group')
    await assert.rejects(it.next(), { code: 'ERR_WA_INVALID_INPUT', field: 'groupId' })
    assert.deepEqual(await it.next(), { done: true })
  })
})

describe('approve and reject', () => {
  test('approveJoinRequests moves requests to the participants', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 3)
    const out = await client.approveJoinRequests(group, ids.slice(0, 2))
    assert.deepEqual(out, { approved: ids.slice(0, 2), failed: [], errors: [] })
    assert.equal((await emu.participants(group)).length, 2)
    assert.deepEqual(
      (await emu.pendingJoinRequests(group)).map((r) => r.joinRequestId),
      [ids[2]],
    )
  })

  test('rejectJoinRequests drops them', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 2)
    const out = await client.rejectJoinRequests(group, ids)
    assert.deepEqual(out, { rejected: ids, failed: [], errors: [] })
    assert.deepEqual(await emu.pendingJoinRequests(group), [])
    assert.deepEqual(await emu.participants(group), [])
  })

  test('partial failure is a result: 131213 for unknown or handled IDs', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const [a, b] = await emu.addJoinRequests(group, 2)
    await client.rejectJoinRequests(group, [b])
    const out = await client.approveJoinRequests(group, [a, b, 'bm9uZQ=='])
    assert.deepEqual(out.approved, [a])
    assert.deepEqual(
      out.failed.map((f) => [f.joinRequestId, f.errors.map((e) => e.code)]),
      [
        [b, [131213]],
        ['bm9uZQ==', [131213]],
      ],
    )
    const detail = out.failed[0].errors[0]
    assert.deepEqual(Object.keys(detail).sort(), ['code', 'details', 'message', 'title'])
    assert.equal(typeof detail.message, 'string')
  })

  test('partial failure: 131204 over the participant cap', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup({ participantCap: 1 })
    const ids = await emu.addJoinRequests(group, 3)
    const out = await client.approveJoinRequests(group, ids)
    assert.deepEqual(out.approved, [ids[0]])
    assert.deepEqual(
      out.failed.map((f) => f.errors[0].code),
      [131204, 131204],
    )
  })

  test('chunks by maxIdsPerRequest, merges in input order, sends duplicates once', async () => {
    const client = clientFor(emu, { maxIdsPerRequest: 2, maxConcurrency: 2 })
    const group = await emu.createGroup({ participantCap: 100 })
    const ids = await emu.addJoinRequests(group, 5)
    await emu.resetStats()
    const out = await client.approveJoinRequests(group, [...ids, ids[0]])
    assert.deepEqual(out.approved, ids)
    assert.equal((await emu.stats()).endpoints.approve, 3)
  })

  test('approveAll lists every page, then approves in chunks', async () => {
    const client = clientFor(emu, { maxIdsPerRequest: 3 })
    const group = await emu.createGroup({ participantCap: 100 })
    const ids = await emu.addJoinRequests(group, 30)
    await emu.resetStats()
    const out = await client.approveAll(group)
    assert.deepEqual(out.approved, ids)
    const stats = await emu.stats()
    assert.equal(stats.endpoints.list, 2, 'two pages of 25')
    assert.equal(stats.endpoints.approve, 10)
    assert.equal((await emu.participants(group)).length, 30)
  })

  test('rejectAll rejects everything pending; nothing pending sends nothing', async () => {
    const client = clientFor(emu)
    const group = await emu.createGroup()
    const ids = await emu.addJoinRequests(group, 4)
    assert.deepEqual((await client.rejectAll(group)).rejected, ids)
    await emu.resetStats()
    assert.deepEqual(await client.rejectAll(group), { rejected: [], failed: [], errors: [] })
    assert.equal((await emu.stats()).endpoints.reject, 0)
  })
})

test('500 concurrent calls on one client all succeed', async () => {
  const client = clientFor(emu)
  const group = await emu.createGroup({ participantCap: 1000 })
  const ids = await emu.addJoinRequests(group, 250)
  const calls = []
  for (let i = 0; i < 250; i++) {
    calls.push(client.approveJoinRequests(group, [ids[i]]))
    calls.push(client.listJoinRequests(group, { limit: 1 }))
  }
  const results = await Promise.all(calls)
  assert.equal(results.length, 500)
  const approved = results.filter((r) => 'approved' in r).flatMap((r) => r.approved)
  assert.deepEqual(approved.sort(), [...ids].sort())
})

test('the user agent names the library and the Node runtime', () => {
  const client = clientFor(emu, { userAgent: 'myapp/1.2.3' })
  assert.equal(client.userAgent, `wa-groups/${wa.VERSION};node=${process.versions.node} myapp/1.2.3`)
  const pattern =
    /^[a-zA-Z0-9\-_]+\/[0-9]+\.[0-9]+\.[0-9]+(;[a-zA-Z0-9\-=.]+)?(\s+[a-zA-Z0-9\-_]+\/[0-9\-.]+)?$/
  assert.match(client.userAgent, pattern)
})

// The outcome objects are built by a function compiled once per JavaScript
// thread (see src/types.rs): they must be plain data, like any other
// result, on the main thread and in a worker (another environment).
test('approve and reject outcomes are plain objects of own data properties, in workers too', async () => {
  const client = clientFor(emu)
  const group = await emu.createGroup()
  const ids = await emu.addJoinRequests(group, 3)
  const approved = await client.approveJoinRequests(group, [ids[0]])
  const rejected = await client.rejectJoinRequests(group, [ids[1], 'NoSuchRequest1'])
  assert.deepEqual(Object.keys(approved), ['approved', 'failed', 'errors'])
  assert.deepEqual(Object.keys(rejected), ['rejected', 'failed', 'errors'])
  assert.equal(Object.getPrototypeOf(approved), Object.prototype)
  for (const [out, key] of [[approved, 'approved'], [rejected, 'rejected']]) {
    for (const name of [key, 'failed', 'errors']) {
      const d = Object.getOwnPropertyDescriptor(out, name)
      assert.deepEqual([d.writable, d.enumerable, d.configurable], [true, true, true], name)
    }
  }
  assert.deepEqual(approved.approved, [ids[0]])
  assert.deepEqual(rejected.rejected, [ids[1]])
  assert.equal(rejected.failed[0].joinRequestId, 'NoSuchRequest1')

  const { Worker } = await import('node:worker_threads')
  const source = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { Client } = require(workerData.pkg)
    const client = new Client({ accessToken: workerData.token, baseUrl: workerData.base })
    client.approveJoinRequests(workerData.group, [workerData.id]).then(
      (out) => parentPort.postMessage({ keys: Object.keys(out), approved: out.approved }),
      (e) => parentPort.postMessage({ error: String(e) }),
    )`
  const worker = new Worker(source, {
    eval: true,
    workerData: {
      pkg: fileURLToPath(new URL('../index.js', import.meta.url)),
      token: emu.accessToken,
      base: emu.baseUrl,
      group,
      id: ids[2],
    },
  })
  const reply = await new Promise((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  await worker.terminate()
  assert.deepEqual(reply, { keys: ['approved', 'failed', 'errors'], approved: [ids[2]] })
})
