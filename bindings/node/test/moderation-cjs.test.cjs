// CommonJS `require` of the moderation engine, with a policy file.
const assert = require('node:assert/strict')
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs')
const { tmpdir } = require('node:os')
const path = require('node:path')
const { test } = require('node:test')

const { Emulator, Moderator } = require('wa-groups')

test('require gives the Moderator; a policy decides, the handshake answers', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wa-groups-moderation-cjs-'))
  const emu = await Emulator.start()
  try {
    const policy = path.join(dir, 'policy.toml')
    writeFileSync(policy, 'default = "reject"\n')
    const m = new Moderator({
      accessToken: emu.accessToken,
      appSecret: 'cjs-app-secret',
      verifyToken: 'cjs-verify-token',
      baseUrl: emu.baseUrl,
      store: `sqlite:${path.join(dir, 'm.db')}`,
      policy,
      batchWindowMs: 20,
    })
    const { port } = await m.listen()
    try {
      const base = `http://127.0.0.1:${port}`
      const hs = await fetch(`${base}/webhook?hub.mode=subscribe&hub.verify_token=cjs-verify-token&hub.challenge=ok`)
      assert.equal(await hs.text(), 'ok')
      const group = await emu.createGroup()
      await emu.setWebhook(`${base}/webhook`, 'cjs-app-secret')
      const ids = await emu.addJoinRequests(group, 2)
      for (;;) {
        const s = await m.status()
        if (s.total.rejected === 2) {
          assert.deepEqual(s.requests.map((r) => [r.join_request_id, r.rule]).sort(), ids.map((id) => [id, 'default']).sort())
          break
        }
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.deepEqual(await emu.pendingJoinRequests(group), [])
    } finally {
      await m.stop()
    }
  } finally {
    await emu.stop()
    rmSync(dir, { recursive: true, force: true })
  }
})
