// The root README's Express moderation example runs as written in its own
// Node process, receiving signed deliveries from the emulator; SIGTERM
// stops it cleanly (its handler closes the server and stops the engine).
// Its environment variables are the emulator's; the one adaptation points
// the moderator at the emulator and a fresh SQLite file, and listens on a
// free port it prints.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { test } from 'node:test'

import { Emulator, packageDir, repoRoot } from './helpers.mjs'
import { APP_SECRET, VERIFY_TOKEN, tempDir, waitFor } from './moderation-helpers.mjs'

/** The first ```js block of the README's moderation section. */
function expressExample() {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const section = readme.slice(readme.indexOf('\n## Moderate join requests\n'))
  const block = /```js\n([\s\S]*?)```/.exec(section.slice(0, section.indexOf('\n## ', 1)))?.[1]
  assert.ok(block?.includes('express'), 'no Express example in the moderation section')
  return block
}

function adapt(code, old, replacement) {
  assert.equal(code.split(old).length, 2, `the README example no longer has ${old}`)
  return code.replace(old, replacement)
}

test("the README's Express example decides deliveries and stops on SIGTERM", async () => {
  const tmp = tempDir()
  const emu = await Emulator.start()
  let child
  try {
    let code = adapt(
      expressExample(),
      'const moderator = new Moderator({\n',
      'const moderator = new Moderator({\n  baseUrl: process.env.TEST_BASE_URL, store: process.env.TEST_STORE, batchWindowMs: 20,\n',
    )
    code = adapt(code, 'app.listen(8080)', "app.listen(0, '127.0.0.1', () => console.log(server.address().port))")
    child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: packageDir,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        WHATSAPP_ACCESS_TOKEN: emu.accessToken,
        WHATSAPP_APP_SECRET: APP_SECRET,
        WHATSAPP_VERIFY_TOKEN: VERIFY_TOKEN,
        TEST_BASE_URL: emu.baseUrl,
        TEST_STORE: `sqlite:${path.join(tmp.dir, 'readme.db')}`,
      },
    })
    const [line] = await once(createInterface({ input: child.stdout }), 'line')
    const port = Number(line)
    assert.ok(port > 0, line)

    const group = await emu.createGroup({ participantCap: 1000 })
    await emu.setWebhook(`http://127.0.0.1:${port}/webhook`, APP_SECRET)
    const ids = await emu.addJoinRequests(group, 4)
    // The emulator's requesters have wa_ids outside the blocked prefix.
    await waitFor('every request approved', async () => (await emu.participants(group)).length === ids.length)
    assert.deepEqual(await emu.pendingJoinRequests(group), [])

    const exited = once(child, 'exit')
    child.kill('SIGTERM')
    const [codeOut, signal] = await exited
    assert.deepEqual([codeOut, signal], [0, null])
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await emu.stop()
    tmp.cleanup()
  }
})
