// A typed use of the package, checked by `tsc --noEmit -p types` in
// `cargo xtask test`: the generated index.d.ts must type it without `any`.
import {
  Client,
  Emulator,
  isWaGroupsError,
  parseWebhook,
  signWebhook,
  verifySignature,
  type ApproveOutcome,
  type ErrorCode,
  type GroupEvent,
  type JoinRequest,
  type JoinRequestPage,
  type RejectOutcome,
  type WaGroupsError,
  type WebhookPayload,
} from 'wa-groups'

async function main(): Promise<void> {
  const emu: Emulator = await Emulator.start({ participantCap: 8 })
  const client = new Client({
    accessToken: emu.accessToken,
    baseUrl: emu.baseUrl,
    userAgent: 'myapp/1.2.3',
    timeoutMs: 10_000,
    maxRetries: 3,
    maxIdsPerRequest: 100,
    maxConcurrency: 4,
  })
  const group: string = await emu.createGroup({ subject: 'Book club' })
  const ids: string[] = await emu.addJoinRequests(group, 3)

  const page: JoinRequestPage = await client.listJoinRequests(group, { limit: 2 })
  const next: string | null = page.after
  const first: JoinRequest | undefined = page.data[0]
  const waId: string | null = first?.waId ?? null
  const when: number | undefined = first?.creationTimestamp

  for await (const request of client.joinRequests(group)) {
    const id: string = request.joinRequestId
    void id
  }

  const controller = new AbortController()
  const approved: ApproveOutcome = await client.approveJoinRequests(group, ids.slice(0, 1), {
    signal: controller.signal,
  })
  for (const failed of approved.failed) {
    const codes: number[] = failed.errors.map((e) => e.code)
    void codes
  }
  const rejected: RejectOutcome = await client.rejectAll(group)
  const all: string[] = [...approved.approved, ...rejected.rejected]

  await emu.injectFault({ kind: 'rate_limited', code: 131208, retryAfterSeconds: 1, times: 1 })
  try {
    await client.approveAll(group)
  } catch (e: unknown) {
    if (isWaGroupsError(e)) {
      const err: WaGroupsError = e
      const code: ErrorCode = err.code
      const retry: number | null = err.retryAfterMs
      const status: number | null = err.status
      void [code, retry, status]
    }
  }

  const body = Buffer.from('{"object":"whatsapp_business_account","entry":[]}')
  verifySignature('app-secret', body, signWebhook('app-secret', body))
  const payload: WebhookPayload = parseWebhook(body)
  for (const event of payload.events()) {
    const where: [string, string, string, string] = [event.wabaId, event.field, event.phoneNumberId, event.groupId]
    void where
  }
  for (const entry of payload.entries) {
    for (const change of entry.changes) {
      if (change.kind === 'group') {
        const events: GroupEvent[] = change.events
        void events
      } else {
        const raw: unknown = change.value
        void raw
      }
    }
  }
  const stats = await emu.stats()
  const requests: number = stats.requests
  void [next, waId, when, all, requests]
  await emu.stop()
}

void main()

// Issue 15's Node types: a readonly list of IDs is accepted; every code
// `isWaGroupsError` accepts is an `ErrorCode`; the iterator is an
// `AsyncIterableIterator` by its `Symbol.asyncIterator` method; the client
// shows where it sends calls; `JoinRequestStep` is not exported.
export async function issue15(client: Client, group: string, emu: Emulator): Promise<void> {
  const ids: readonly string[] = Object.freeze(['JR1', 'JR2'])
  const a: ApproveOutcome = await client.approveJoinRequests(group, ids)
  const r: RejectOutcome = await client.rejectJoinRequests(group, ids)
  const codes: ErrorCode[] = ['ERR_WA_EMULATOR', 'ERR_WA_INTERNAL']
  const it: AsyncIterableIterator<JoinRequest> = client.joinRequests(group)[Symbol.asyncIterator]()
  const where: [string, string, string] = [client.baseUrl, client.apiVersion, client.userAgent]
  void [a, r, codes, it, where, emu]
}

// @ts-expect-error: the iterator's step is TypeScript's own IteratorResult.
import type { JoinRequestStep } from 'wa-groups'
