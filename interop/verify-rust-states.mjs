#!/usr/bin/env node
// Checks, with the REAL awaitly package, what the Rust port writes:
//
//   node interop/verify-rust-states.mjs            # all three checks below
//   node interop/verify-rust-states.mjs --strict   # also fail on shape differences (check 1)
//   node interop/verify-rust-states.mjs --dir D    # check 1 only, on D/*.json
//
// 1. tests/fixtures/rust/<name>.json (states the Rust port wrote): parsed, checked with
//    isSerializedResumeState, turned into a runtime state with deserializeResumeState and
//    replayed with the awaitly workflow of that name (rust-scenarios.mjs), asserting the outcome
//    and that replayed steps did not execute again. For the original fixtures, the state is also
//    compared with awaitly's fixture of the same name after dropping the fields awaitly does not
//    read (listed as "ignored"); differences are notes, failures with --strict.
// 2. tests/fixtures/awaitly-via-rust/<name>.json (awaitly's fixtures after the Rust port's
//    from_json + to_json): the steps must be awaitly's, exactly (JSON.stringify-equal: same keys in
//    the same order, same strings — lone surrogates included —, no "value" where awaitly had
//    none), and must replay in awaitly exactly as awaitly's own fixture does.
// 3. tests/fixtures/rust-via-awaitly/<name>.json (the Rust port's states after awaitly's
//    deserializeResumeState + serializeResumeState; the Rust tests replay them): must be what
//    awaitly makes of the current tests/fixtures/rust/<name>.json — else they are stale
//    (`node interop/generate.mjs` rewrites them).
//
// One line is printed per file; the exit code is non-zero if any check fails.

import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

import { deserializeResumeState, isSerializedResumeState } from "awaitly/workflow";

import {
  AWAITLY_FIXTURES_DIR,
  AWAITLY_VIA_RUST_DIR,
  REPO_ROOT,
  RUST_FIXTURES_DIR,
  RUST_VIA_AWAITLY_DIR,
  jsonNames,
  throughAwaitly,
} from "./generate.mjs";
import { rustScenarios } from "./rust-scenarios.mjs";
import { REPLAY } from "./workflows.mjs";

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

const args = process.argv.slice(2);
const strict = args.includes("--strict");
const dirFlag = args.indexOf("--dir");
const customDir = dirFlag >= 0 && args[dirFlag + 1] ? resolve(args[dirFlag + 1]) : null;
const RUST_DIR = customDir ?? RUST_FIXTURES_DIR;

/** Fixtures whose Rust state should have awaitly's shape (the others legitimately differ). */
const SAME_SHAPE_AS_AWAITLY = ["payment-suspended", "payment-injected", "payment-completed", "failed-step", "loop-steps"];

// ---------------------------------------------------------------------------
// Shape comparison (check 1)
// ---------------------------------------------------------------------------

// Fields of the serialized form that awaitly 1.35.0 actually reads.
const KNOWN_TOP = ["kind", "steps"];
const KNOWN_OK = ["ok", "value"];
const KNOWN_ERR = ["ok", "error", "cause", "meta"];
const KNOWN_CAUSE_ERROR = ["type", "name", "message", "stack", "cause"];
const KNOWN_CAUSE_THROWN = ["type", "originalType", "value", "stringRepresentation", "truncated"];
const KNOWN_META = ["origin"];
// awaitly reads a PENDING_HOOK error's type, hookId, stepKey and metadata; anything else (the Rust
// side's `deadline`, `requestedAt`) is carried along unread.
const KNOWN_PENDING_HOOK = ["type", "hookId", "stepKey", "metadata"];

function pick(obj, known, path, ignored) {
  const out = {};
  for (const [k, v] of Object.entries(obj)) {
    if (known.includes(k)) out[k] = v;
    else ignored.push(`${path}.${k}`);
  }
  return out;
}

function canonicalCause(cause, path, ignored) {
  if (cause === null || typeof cause !== "object") return cause;
  const known = cause.type === "error" ? KNOWN_CAUSE_ERROR : KNOWN_CAUSE_THROWN;
  const out = pick(cause, known, path, ignored);
  if (out.cause !== undefined) out.cause = canonicalCause(out.cause, `${path}.cause`, ignored);
  return out;
}

/** Reduces a serialized state to the fields awaitly reads; the paths of the others go to `ignored`. */
function canonicalize(raw, ignored) {
  const top = pick(raw, KNOWN_TOP, "$", ignored);
  if (!Array.isArray(top.steps)) return top;
  top.steps = top.steps.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) return pair;
    const [key, entry] = pair;
    const path = `$.steps[${i}](${key})`;
    if (entry === null || typeof entry !== "object") return pair;
    if (entry.ok === true) return [key, pick(entry, KNOWN_OK, path, ignored)];
    const e = pick(entry, KNOWN_ERR, path, ignored);
    if (e.error && typeof e.error === "object" && e.error.type === "PENDING_HOOK") {
      e.error = pick(e.error, KNOWN_PENDING_HOOK, `${path}.error`, ignored);
    }
    if ("cause" in e) e.cause = canonicalCause(e.cause, `${path}.cause`, ignored);
    if (e.meta && typeof e.meta === "object") e.meta = pick(e.meta, KNOWN_META, `${path}.meta`, ignored);
    return [key, e];
  });
  return top;
}

function readJson(dir, name) {
  return JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
}

/** Compares the canonical Rust form with the awaitly fixture; returns a note or null. */
function compareWithAwaitlyFixture(name, canonical) {
  if (!existsSync(join(AWAITLY_FIXTURES_DIR, `${name}.json`))) return null;
  const expected = readJson(AWAITLY_FIXTURES_DIR, name);
  try {
    assert.deepStrictEqual(canonical, expected);
    return null;
  } catch (e) {
    const exp = new Map(expected.steps);
    const got = Array.isArray(canonical.steps) ? new Map(canonical.steps) : new Map();
    const expKeys = [...exp.keys()].join(",");
    const gotKeys = [...got.keys()].join(",");
    if (expKeys !== gotKeys) return `step keys [${gotKeys}] differ from awaitly's [${expKeys}]`;
    for (const [k, v] of exp) {
      try {
        assert.deepStrictEqual(got.get(k), v);
      } catch {
        return `entry "${k}" differs from awaitly fixture: got ${JSON.stringify(got.get(k))}, awaitly wrote ${JSON.stringify(v)}`;
      }
    }
    return `differs from awaitly fixture: ${e.message.split("\n")[0]}`;
  }
}

// ---------------------------------------------------------------------------
// The three checks; each returns { summary, note? } or throws
// ---------------------------------------------------------------------------

/** Structure awaitly 1.35.0 needs before deserializeResumeState can be trusted with a file. */
function checkStructure(raw) {
  assert.ok(isSerializedResumeState(raw), 'not a serialized resume state (needs kind "ResumeState" and a steps array)');
  for (const [i, pair] of raw.steps.entries()) {
    assert.ok(Array.isArray(pair) && pair.length === 2 && typeof pair[0] === "string", `steps[${i}] is not a [key, entry] pair`);
    const entry = pair[1];
    assert.ok(entry && typeof entry.ok === "boolean", `steps[${i}] ("${pair[0]}") has no boolean "ok"`);
    if (!entry.ok) {
      // awaitly 1.35.0 throws a bare TypeError when an error entry has no cause.
      assert.ok(entry.cause && typeof entry.cause === "object", `steps[${i}] ("${pair[0]}") is an error entry without an object "cause"`);
    }
  }
}

async function checkRustState(dir, name) {
  const raw = readJson(dir, name);
  checkStructure(raw);
  const ignored = [];
  const canonical = canonicalize(raw, ignored);
  const scenario = rustScenarios[name];
  let summary;
  if (scenario) {
    summary = await scenario(deserializeResumeState(raw), raw);
  } else {
    const state = deserializeResumeState(raw);
    for (const [key, entry] of state.steps) assert.equal(typeof entry.result.ok, "boolean", `entry "${key}" has no boolean ok`);
    summary = `no scenario named like this file; deserialized ${state.steps.size} steps (structure only)`;
  }
  const note = SAME_SHAPE_AS_AWAITLY.includes(name) ? compareWithAwaitlyFixture(name, canonical) : null;
  const extras = ignored.length ? `; ignored by awaitly: ${ignored.join(", ")}` : "";
  return { summary: summary + extras, note };
}

/** Replays a state with the fixture's workflow: { ok, value | error, cause, calls }. */
async function replayOutcome(name, raw) {
  const workflow = REPLAY[name](deserializeResumeState(raw));
  const result = await workflow.run();
  return { ...result, calls: workflow.calls };
}

async function checkAwaitlyViaRust(name) {
  const original = readJson(AWAITLY_FIXTURES_DIR, name);
  const viaRust = readJson(AWAITLY_VIA_RUST_DIR, name);
  checkStructure(viaRust);
  assert.equal(viaRust.kind, "ResumeState");
  if (JSON.stringify(viaRust.steps) !== JSON.stringify(original.steps)) {
    const exp = original.steps;
    const got = viaRust.steps;
    const at = exp.findIndex((pair, i) => JSON.stringify(pair) !== JSON.stringify(got[i]));
    assert.fail(`steps differ from awaitly's at [${at}]: awaitly ${JSON.stringify(exp[at])}, after Rust ${JSON.stringify(got[at])}`);
  }
  assert.ok(REPLAY[name], `no workflow to replay "${name}" (add it to REPLAY in workflows.mjs)`);
  const expected = await replayOutcome(name, original);
  const got = await replayOutcome(name, viaRust);
  assert.deepStrictEqual(got, expected, "replays differently from awaitly's own fixture");
  const outcome = expected.ok ? "ok" : `err ${JSON.stringify(expected.error?.type ?? expected.error?._tag ?? expected.error)}`;
  return { summary: `steps identical to awaitly's; replay -> ${outcome}, as awaitly's own` };
}

function checkRustViaAwaitly(name) {
  const expected = throughAwaitly(readFileSync(join(RUST_FIXTURES_DIR, `${name}.json`), "utf8"));
  const file = join(RUST_VIA_AWAITLY_DIR, `${name}.json`);
  assert.ok(existsSync(file), "missing: run node interop/generate.mjs");
  assert.equal(readFileSync(file, "utf8"), expected, "stale: not what awaitly makes of the current Rust fixture; run node interop/generate.mjs");
  return { summary: `= awaitly's round trip of ${relative(REPO_ROOT, join(RUST_FIXTURES_DIR, `${name}.json`))}` };
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function report(label, check) {
  try {
    const { summary, note } = await check();
    if (note && strict) {
      console.log(`FAIL ${label}: ${summary}; shape: ${note}`);
      return 1;
    }
    console.log(`ok   ${label}: ${summary}${note ? `; note: ${note}` : ""}`);
    return 0;
  } catch (e) {
    const [first, ...rest] = (e && e.message ? e.message : String(e)).split("\n");
    console.log(`FAIL ${label}: ${first}`);
    // Show assertion diffs (if any) indented under the FAIL line.
    for (const line of rest.filter((l) => l.trim() !== "").slice(0, 20)) console.log(`       ${line}`);
    return 1;
  }
}

async function main() {
  const rustNames = jsonNames(RUST_DIR);
  if (rustNames.length === 0) {
    console.log(`notice: no *.json in ${relative(REPO_ROOT, RUST_DIR) || RUST_DIR}; nothing to verify (run the Rust fixture writer first)`);
    return 0;
  }
  let failures = 0;
  let checked = 0;
  const label = (dir, name) => relative(REPO_ROOT, join(dir, `${name}.json`));
  for (const name of rustNames) {
    checked += 1;
    failures += await report(label(RUST_DIR, name), () => checkRustState(RUST_DIR, name));
  }
  if (!customDir) {
    for (const name of jsonNames(AWAITLY_FIXTURES_DIR)) {
      checked += 1;
      failures += await report(label(AWAITLY_VIA_RUST_DIR, name), () => checkAwaitlyViaRust(name));
    }
    for (const name of rustNames) {
      checked += 1;
      failures += await report(label(RUST_VIA_AWAITLY_DIR, name), () => checkRustViaAwaitly(name));
    }
  }
  if (failures > 0) console.log(`${failures} of ${checked} check(s) failed`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
