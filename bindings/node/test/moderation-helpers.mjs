// Shared by the moderation tests: a moderator on the emulator with its
// own SQLite file, deliveries from the emulator, waiting for the engine.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

import { wa } from './helpers.mjs'

export const APP_SECRET = 'test-app-secret'
export const VERIFY_TOKEN = 'test-verify-token'
const TERMINAL = new Set(['approved', 'rejected', 'held', 'revoked', 'gone', 'failed'])

/** A fresh folder, removed by the returned `cleanup`. */
export function tempDir() {
  const dir = mkdtempSync(path.join(tmpdir(), 'wa-groups-moderation-'))
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

/** A moderator on `emu` storing in `dir`; `options` override. */
export function moderatorFor(emu, dir, options = {}) {
  return new wa.Moderator({
    accessToken: emu.accessToken,
    appSecret: APP_SECRET,
    verifyToken: VERIFY_TOKEN,
    baseUrl: emu.baseUrl,
    store: `sqlite:${path.join(dir, 'moderation.db')}`,
    batchWindowMs: 20,
    reconcileEveryMs: 3_600_000,
    ...options,
  })
}

/** Approves requesters whose waId ends in an even digit. */
export function byParity(req) {
  if (typeof req.groupId !== 'string' || typeof req.joinRequestId !== 'string') throw new Error('bad request')
  if (typeof req.createdAt !== 'number') throw new Error('no createdAt')
  return Number((req.waId ?? '1').at(-1)) % 2 === 0 ? 'approve' : 'reject'
}

/**
 * Points the emulator's webhooks at `url` and adds `n` join requests;
 * resolves to what `byParity` makes of each: `{ id: [state, rule] }`.
 */
export async function deliver(emu, group, url, n) {
  await emu.setWebhook(url, APP_SECRET)
  const ids = await emu.addJoinRequests(group, n)
  const pending = new Map((await emu.pendingJoinRequests(group)).map((r) => [r.joinRequestId, r.waId]))
  return Object.fromEntries(
    ids.map((id) => [id, [byParity({ groupId: group, joinRequestId: id, waId: pending.get(id), createdAt: 0 }) === 'approve' ? 'approved' : 'rejected', 'callback']]),
  )
}

/**
 * Polls `probe` until it resolves to something truthy. The bound only
 * turns a hang into a failure; it measures nothing.
 */
export async function waitFor(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The status once `n` records are decided and applied. */
export function settled(moderator, n) {
  return waitFor(`${n} settled records`, async () => {
    const s = await moderator.status()
    return s.requests.length === n && s.requests.every((r) => TERMINAL.has(r.state)) ? s : null
  })
}

/** `{ joinRequestId: [state, rule] }`. */
export function rules(status) {
  return Object.fromEntries(status.requests.map((r) => [r.join_request_id, [r.state, r.rule]]))
}
