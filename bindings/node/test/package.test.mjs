// The package as users load it: ESM import, versions kept equal, the
// typed surface free of `any`.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { test } from 'node:test'

import * as namespace from 'wa-groups'
import { Client, Emulator, VERSION, isWaGroupsError, parseWebhook, verifySignature } from 'wa-groups'

import { packageDir, readJson, repoRoot } from './helpers.mjs'

test('ESM import gives named exports and the CommonJS module is the same', () => {
  for (const f of [Client, Emulator, isWaGroupsError, parseWebhook, verifySignature]) assert.equal(typeof f, 'function')
  const require = createRequire(import.meta.url)
  const cjs = require('wa-groups')
  assert.equal(cjs.Client, Client)
  assert.equal(namespace.default.Client, Client)
})

test('package.json, the per-platform package and the addon have the Cargo workspace version', () => {
  const cargo = readFileSync(path.join(repoRoot, 'Cargo.toml'), 'utf8')
  const section = cargo.split(/^\[workspace\.package\]\s*$/m)[1]?.split(/^\[/m)[0] ?? ''
  const version = section.match(/^version\s*=\s*"([^"]+)"/m)?.[1]
  assert.ok(version, 'Cargo.toml has [workspace.package] version')
  assert.equal(readJson(path.join(packageDir, 'package.json')).version, version)
  assert.equal(readJson(path.join(packageDir, 'npm', 'linux-x64-gnu', 'package.json')).version, version)
  assert.equal(VERSION, version)
})

test('the typed surface has no `any`', () => {
  const dts = readFileSync(path.join(packageDir, 'index.d.ts'), 'utf8')
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '')
  assert.doesNotMatch(code, /\bany\b/)
  assert.match(dts, /DO NOT EDIT/)
})
