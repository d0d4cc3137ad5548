// The Moderator's types, checked by `tsc -p types` (strict, no `any`).
import http from 'node:http'

import { Moderator, isWaGroupsError } from 'wa-groups'
import type { Decision, ListenAddress, ModerationRequest, ModerationStatus, ModeratorOptions } from 'wa-groups'

const decide = async (req: ModerationRequest): Promise<Decision> =>
  req.waId?.startsWith('44') === true ? 'approve' : 'hold'
const options: ModeratorOptions = {
  accessToken: 'token',
  appSecret: 'secret',
  verifyToken: 'verify',
  decide,
  batchWindowMs: 200,
  groups: ['G1'] as const,
}
const syncOptions: ModeratorOptions = { ...options, decide: (req: ModerationRequest) => (req.createdAt === undefined ? 'hold' : 'reject') }

export async function run(): Promise<void> {
  const moderator = new Moderator(options)
  const { host, port }: ListenAddress = await moderator.listen(0, '127.0.0.1')
  console.log(host, port, moderator.address?.port, moderator.running)
  const status: ModerationStatus = await moderator.status()
  for (const r of status.requests) console.log(r.join_request_id, r.state, r.rule ?? '-')
  console.log(status.total.held, status.groups[0]?.counts.approved)
  await moderator.stop()

  const workersOnly = new Moderator(syncOptions)
  await workersOnly.start()
  const server = http.createServer(workersOnly.requestListener())
  server.listen(0)
  const answer = await workersOnly.handle('GET', '/webhook?hub.mode=subscribe', [], Buffer.alloc(0))
  console.log(answer.status, answer.headers[0]?.[0], answer.body.length)
  try {
    await workersOnly.start()
  } catch (e) {
    if (isWaGroupsError(e) && e.code === 'ERR_WA_MODERATION') console.log(e.message)
  }
  await workersOnly.stop()
}
