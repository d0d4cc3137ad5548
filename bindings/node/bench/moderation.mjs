// Moderation benches of the Node binding (run by `cargo xtask bench`):
//
// - Webhook acknowledgement latency at a steady rate (500 deliveries/s)
//   through `requestListener()` under node:http, beside the engine's own
//   (Rust, hyper) listener measured in the same run, by the same Rust load
//   generator (crates/moderation/examples/ack_load.rs). Target: the
//   requestListener p99 at most 2x the Rust p99.
// - Decisions per second through a trivial `decide`: N join requests
//   stored first (through `handle`), then the workers started (`dryRun`:
//   decided and recorded, nothing sent) and timed until every decision is
//   recorded. Target: at least 5,000/s.
//
// `node bench/moderation.mjs OUT.json LOAD_BINARY [RATE] [COUNT] [DECISIONS] [ROUNDS]`
// writes `{"rate", "rust_p99_ms", "listener_p99_ms", "floor_p99_ms", "decisions_per_s"}`
// (the floor: a trivial node:http handler under the same load; each p99 the
// median of ROUNDS rounds, 3 unless given).
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'

import { Moderator, signWebhook } from 'wa-groups'

const SECRET = 'bench-app-secret'
// Nothing is sent anywhere: decisions are "hold" or the engine is in dry run.
const NOWHERE = 'http://127.0.0.1:9'
const run = promisify(execFile)

const [out, binary, rate = '500', count = '2000', decisions = '20000', ackRounds = '3'] = process.argv.slice(2)
if (!out || !binary) throw new Error('usage: node bench/moderation.mjs OUT.json LOAD_BINARY [RATE] [COUNT] [DECISIONS] [ROUNDS]')
const dir = mkdtempSync(path.join(tmpdir(), 'wa-groups-moderation-bench-'))

function moderator(name, options) {
  return new Moderator({
    accessToken: 'bench-token',
    appSecret: SECRET,
    verifyToken: 'bench',
    store: `sqlite:${path.join(dir, name)}`,
    baseUrl: NOWHERE,
    reconcileEveryMs: 3_600_000,
    ...options,
  })
}

/** The load generator against `url` (asynchronously: `decide` runs on this thread). */
async function load(url, n) {
  const { stdout } = await run(binary, [url, rate, String(n), SECRET])
  return JSON.parse(stdout.trim().split('\n').at(-1))
}

/** The middle value of `values`. */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** The three p99s of one round: the engine's listener, requestListener(), the floor. */
async function ackRound(round) {
  const rust = moderator(`rust-${round}.db`, { decide: () => 'hold' })
  const { port } = await rust.listen()
  let rustP99
  try {
    await load(`http://127.0.0.1:${port}/webhook`, 200) // warm-up
    rustP99 = (await load(`http://127.0.0.1:${port}/webhook`, count)).p99_ms
  } finally {
    await rust.stop()
  }

  const mounted = moderator(`listener-${round}.db`, { decide: () => 'hold' })
  await mounted.start()
  const server = http.createServer(mounted.requestListener())
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  let listenerP99
  try {
    const url = `http://127.0.0.1:${server.address().port}/webhook`
    await load(url, 200) // warm-up
    listenerP99 = (await load(url, count)).p99_ms
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
    await mounted.stop()
  }
  // The framework's floor: a node:http handler that reads the body and
  // answers 200 at once.
  const trivial = http.createServer((req, res) => {
    req.resume()
    req.on('end', () => res.end())
  })
  await new Promise((resolve) => trivial.listen(0, '127.0.0.1', resolve))
  let floorP99
  try {
    const url = `http://127.0.0.1:${trivial.address().port}/webhook`
    await load(url, 200) // warm-up
    floorP99 = (await load(url, count)).p99_ms
  } finally {
    trivial.closeAllConnections()
    await new Promise((resolve) => trivial.close(resolve))
  }
  return [rustP99, listenerP99, floorP99]
}

/**
 * Each p99 the median over `rounds` rounds that take the three in turn, so
 * that a burst of load elsewhere on the machine falls on one round rather
 * than on one of the three.
 */
async function ackLatency() {
  const rounds = []
  for (let i = 0; i < Number(ackRounds); i++) rounds.push(await ackRound(i))
  return [0, 1, 2].map((k) => median(rounds.map((r) => r[k])))
}

function payload(group, from, to) {
  const events = []
  for (let i = from; i < to; i++) {
    events.push({
      timestamp: '1700000000',
      group_id: group,
      type: 'group_join_request_created',
      join_request_id: `JR${i}`,
      wa_id: `1555${String(i).padStart(7, '0')}`,
    })
  }
  const change = {
    value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
      groups: events,
    },
    field: 'group_participants_update',
  }
  return Buffer.from(JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [change] }] }))
}

async function decisionsPerSecond(n) {
  const m = moderator('decide.db', { decide: () => 'approve', dryRun: true })
  for (let start = 0; start < n; start += 500) {
    const body = payload('GBENCH', start, Math.min(start + 500, n))
    const r = await m.handle('POST', '/webhook', ['x-hub-signature-256', signWebhook(SECRET, body)], body)
    if (r.status !== 200) throw new Error(`preload answered ${r.status}`)
  }
  if ((await m.status()).total.pending !== n) throw new Error('preload incomplete')
  const started = performance.now()
  await m.start()
  try {
    while ((await m.status()).total.approving < n) await new Promise((r) => setTimeout(r, 50))
    return n / ((performance.now() - started) / 1000)
  } finally {
    await m.stop()
  }
}

try {
  const [rustP99, listenerP99, floorP99] = await ackLatency()
  const perSecond = await decisionsPerSecond(Number(decisions))
  const result = { rate: Number(rate), rust_p99_ms: rustP99, listener_p99_ms: listenerP99, floor_p99_ms: floorP99, decisions_per_s: perSecond }
  console.log(JSON.stringify(result))
  writeFileSync(out, `${JSON.stringify(result)}\n`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
