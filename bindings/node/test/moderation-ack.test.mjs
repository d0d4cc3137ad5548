// What `requestListener()` answers a webhook delivery, and when: 200 only
// once the delivery is committed to the store (SQLite here; PostgreSQL when
// WA_GROUPS_TEST_POSTGRES names a server), 503 while the store is down,
// and every refusal (signature, payload, size, method) as the engine's own
// listener answers it. Deliveries are signed by `signWebhook` and sent
// concurrently over real sockets to node:http; what is stored is read back
// through another connection than the one that wrote it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import path from 'node:path'
import { afterEach, beforeEach, test } from 'node:test'

import { wa } from './helpers.mjs'
import { APP_SECRET, VERIFY_TOKEN, tempDir, waitFor } from './moderation-helpers.mjs'

let tmp
beforeEach(() => {
  tmp = tempDir()
})
afterEach(() => tmp.cleanup())

/** A moderator on `store` that sends nothing (its workers are not started). */
function moderator(store) {
  return new wa.Moderator({
    accessToken: 'ack-test-token',
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
    baseUrl: 'http://127.0.0.1:9',
    store,
    reconcileEveryMs: 3_600_000,
    decide: () => 'hold',
  })
}

/** Serves `m.requestListener()` with node:http; resolves to [webhook URL, close]. */
async function serve(m) {
  const server = http.createServer(m.requestListener())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const close = () =>
    new Promise((resolve) => {
      server.close(resolve)
      server.closeAllConnections()
    })
  return [`http://127.0.0.1:${server.address().port}/webhook`, close]
}

/** The raw body of a delivery of one new join request `jr` in `group`. */
function payload(group, jr) {
  const event = { timestamp: '1700000000', group_id: group, type: 'group_join_request_created', join_request_id: jr, wa_id: '15550001111' }
  const change = {
    value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' }, groups: [event] },
    field: 'group_participants_update',
  }
  return Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [change] }] }))
}

/** POSTs `body` signed with `secret`; resolves to the status. */
async function post(url, body, secret = APP_SECRET) {
  const r = await fetch(url, { method: 'POST', body, headers: { 'x-hub-signature-256': wa.signWebhook(secret, body) } })
  await r.arrayBuffer()
  return r.status
}

/** The join request IDs the store holds, read by `status()` (a read connection of its own). */
async function stored(m) {
  return new Set((await m.status()).requests.map((r) => r.join_request_id))
}

test('requestListener answers each of many concurrent deliveries 200 only once it is stored', async () => {
  const m = moderator(`sqlite:${path.join(tmp.dir, 'ack.db')}`)
  const [url, close] = await serve(m)
  try {
    const ids = Array.from({ length: 64 }, (_, i) => `JR-ack-${i}`)
    const seenAtAck = await Promise.all(
      ids.map(async (id) => {
        const status = await post(url, payload('GACK', id))
        // Read as soon as the acknowledgement arrives: it must be there.
        return [status, (await stored(m)).has(id)]
      }),
    )
    assert.deepEqual(seenAtAck, ids.map(() => [200, true]))
    // A body over 64 KiB is handled on the engine's threads rather than
    // this one: the same answer, once stored.
    const padded = Buffer.concat([payload('GACK', 'JR-ack-large'), Buffer.alloc(100 * 1024, 0x20)])
    assert.equal(await post(url, padded), 200)
    assert.ok((await stored(m)).has('JR-ack-large'))
    assert.equal((await m.status()).total.pending, ids.length + 1)
  } finally {
    await close()
  }
})

test('requestListener refuses what the engine refuses, storing nothing of it', async () => {
  const m = moderator(`sqlite:${path.join(tmp.dir, 'refused.db')}`)
  const [url, close] = await serve(m)
  try {
    // Wrong secret, no signature, not a webhook payload, over 1 MiB, another method.
    assert.equal(await post(url, payload('GREF', 'JR-bad-sig'), 'another-secret'), 401)
    assert.equal((await fetch(url, { method: 'POST', body: payload('GREF', 'JR-unsigned') })).status, 401)
    assert.equal(await post(url, Buffer.from('{"object": 42}')), 400)
    const big = Buffer.alloc((1 << 20) + 1, 0x20)
    assert.equal(await post(url, big), 413)
    assert.equal((await fetch(url, { method: 'PUT', body: 'x' })).status, 405)
    // The handshake is answered with the challenge, or refused.
    const ok = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=c7`)
    assert.deepEqual([ok.status, await ok.text()], [200, 'c7'])
    const refused = await fetch(`${url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=c7`)
    assert.equal(refused.status, 403)
    assert.deepEqual(await stored(m), new Set())
    // And a good delivery after all that is stored.
    assert.equal(await post(url, payload('GREF', 'JR-good')), 200)
    assert.deepEqual(await stored(m), new Set(['JR-good']))
  } finally {
    await close()
  }
})

// PostgreSQL: a scratch role and schema of this test's own, through psql
// as the server's admin; dropped at the end.
const POSTGRES = process.env.WA_GROUPS_TEST_POSTGRES

function psql(sql) {
  return execFileSync('psql', [POSTGRES, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8' })
}

test('requestListener answers 503 while the PostgreSQL store is down, storing nothing, and 200 once it is back', { skip: !POSTGRES && 'WA_GROUPS_TEST_POSTGRES is not set' }, async () => {
  const name = `wa_node_ack_${process.pid}_${Math.floor(Math.random() * 0xffffff).toString(16)}`
  psql(`CREATE ROLE ${name} LOGIN PASSWORD '${name}'; CREATE SCHEMA ${name} AUTHORIZATION ${name};`)
  const rows = () => psql(`SELECT join_request_id FROM ${name}.records ORDER BY join_request_id`).split('\n').filter(Boolean)
  const sep = POSTGRES.includes('?') ? '&' : '?'
  let m
  let close = async () => {}
  try {
    m = moderator(`${POSTGRES}${sep}user=${name}&password=${name}&options=-c%20search_path%3D${name}`)
    let url
    ;[url, close] = await serve(m)
    const ids = Array.from({ length: 8 }, (_, i) => `JR-pg-${i}`)
    const acked = await Promise.all(ids.map(async (id) => [await post(url, payload('GPG', id)), rows().includes(id)]))
    assert.deepEqual(acked, ids.map(() => [200, true]))

    // The outage: the role may not log in, and its sessions are ended.
    psql(`ALTER ROLE ${name} NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${name}';`)
    const during = await Promise.all(['JR-pg-down-0', 'JR-pg-down-1'].map((id) => post(url, payload('GPG', id))))
    assert.deepEqual(during, [503, 503])
    assert.deepEqual(rows(), [...ids].sort())

    psql(`ALTER ROLE ${name} LOGIN;`)
    // Meta redelivers what got 503; the pool reconnects.
    await waitFor('a redelivery to be stored', async () => (await post(url, payload('GPG', 'JR-pg-down-0'))) === 200)
    assert.ok(rows().includes('JR-pg-down-0'))
  } finally {
    await close()
    await m?.stop()
    psql(
      `ALTER ROLE ${name} NOLOGIN; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${name}'; ` +
        `DROP SCHEMA IF EXISTS ${name} CASCADE; DROP ROLE IF EXISTS ${name};`,
    )
  }
})
