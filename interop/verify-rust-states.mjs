#!/usr/bin/env node
// Replays resume states written by the Rust port in the REAL awaitly package.
//
//   node interop/verify-rust-states.mjs            # checks tests/fixtures/rust/*.json
//   node interop/verify-rust-states.mjs --strict   # also fail on shape differences
//   node interop/verify-rust-states.mjs --dir D    # check D/*.json instead
//
// For every <name>.json the file is parsed, checked with
// isSerializedResumeState, turned back into a runtime state with
// deserializeResumeState and replayed with the awaitly workflow of the same
// name (the workflows are the ones generate.mjs uses to make the awaitly
// fixtures). One line is printed per file; the exit code is non-zero if any
// file fails.
//
// Besides the behavioural checks, each file is compared with the awaitly
// fixture of the same name after dropping fields awaitly does not read (extra
// fields are listed as "ignored"). Differences are printed as notes; with
// --strict they count as failures.

import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";

import {
  deserializeResumeState,
  getPendingHooks,
  hasPendingHook,
  injectHook,
  isPendingHook,
  isSerializedResumeState,
} from "awaitly/workflow";

import {
  AWAITLY_FIXTURES_DIR,
  FULFILLED,
  HOOK_ID,
  HOOK_STEP_KEY,
  LOOP_ITEMS,
  ORDER,
  PAYMENT,
  REPO_ROOT,
  failedStepWorkflow,
  loopStepsWorkflow,
  paymentWorkflow,
  thrownStepWorkflow,
} from "./generate.mjs";

// ---------------------------------------------------------------------------
// Command line
// ---------------------------------------------------------------------------

const args = process.argv.slice(2);
const strict = args.includes("--strict");
const dirFlag = args.indexOf("--dir");
const RUST_DIR =
  dirFlag >= 0 && args[dirFlag + 1]
    ? resolve(args[dirFlag + 1])
    : join(REPO_ROOT, "tests", "fixtures", "rust");

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

function keysOf(state) {
  return [...state.steps.keys()];
}

function okValue(state, key) {
  const entry = state.steps.get(key);
  assert.ok(entry, `state has no entry for "${key}"`);
  assert.equal(entry.result.ok, true, `entry "${key}" should be ok`);
  return entry.result.value;
}

function errValue(state, key) {
  const entry = state.steps.get(key);
  assert.ok(entry, `state has no entry for "${key}"`);
  assert.equal(entry.result.ok, false, `entry "${key}" should be an error`);
  return entry.result.error;
}

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

/**
 * Reduces a serialized state to the fields awaitly reads; collects the paths
 * of everything else in `ignored`.
 */
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

/** Compares the canonical Rust form with the awaitly fixture; returns a note or null. */
function compareWithAwaitlyFixture(name, canonical) {
  const file = join(AWAITLY_FIXTURES_DIR, `${name}.json`);
  if (!existsSync(file)) return null;
  const expected = JSON.parse(readFileSync(file, "utf8"));
  try {
    assert.deepStrictEqual(canonical, expected);
    return null;
  } catch (e) {
    // Keep the note to the first differing step to stay readable.
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
// Scenario checks. Each receives the deserialized state and returns a short
// summary string; any failed assertion throws.
// ---------------------------------------------------------------------------

const scenarios = {
  async "payment-suspended"(state) {
    assert.deepEqual(keysOf(state), ["create-order", HOOK_STEP_KEY]);
    assert.deepEqual(okValue(state, "create-order"), ORDER);
    const pending = errValue(state, HOOK_STEP_KEY);
    assert.ok(isPendingHook(pending), "hook entry should be a PENDING_HOOK error");
    assert.equal(pending.hookId, HOOK_ID);
    assert.equal(pending.stepKey, HOOK_STEP_KEY);
    assert.deepEqual(pending.metadata, { orderId: ORDER.id });
    assert.deepEqual(getPendingHooks(state), [HOOK_ID]);
    assert.equal(hasPendingHook(state, HOOK_ID), true);

    // Without injection the replay stays suspended and runs nothing.
    const stuck = paymentWorkflow({ mode: "suspend", resumeState: state });
    const stuckResult = await stuck.run();
    assert.equal(stuckResult.ok, false, "replay without injection should stay suspended");
    assert.ok(isPendingHook(stuckResult.error));
    assert.deepEqual(stuck.calls, { createOrder: 0, waitForPayment: 0, fulfill: 0 });

    // Deliver the callback payload and resume.
    const injected = injectHook(state, { hookId: HOOK_ID, value: { ...PAYMENT } });
    assert.equal(hasPendingHook(state, HOOK_ID), true, "injectHook must not mutate its input");
    assert.deepEqual(getPendingHooks(injected), []);
    const resumed = paymentWorkflow({ mode: "suspend", resumeState: injected });
    const result = await resumed.run();
    assert.equal(result.ok, true, `resumed run failed: ${JSON.stringify(result.error)}`);
    assert.deepEqual(result.value, FULFILLED);
    assert.equal(resumed.calls.createOrder, 0, "create-order must be replayed, not re-run");
    assert.equal(resumed.calls.waitForPayment, 0, "hook step must take the injected value");
    assert.equal(resumed.calls.fulfill, 1);
    return "pending hook found, injectHook + resume -> fulfilled, create-order not re-run";
  },

  async "payment-injected"(state) {
    assert.deepEqual(keysOf(state), ["create-order", HOOK_STEP_KEY]);
    assert.deepEqual(okValue(state, HOOK_STEP_KEY), PAYMENT);
    assert.deepEqual(getPendingHooks(state), []);
    const wf = paymentWorkflow({ mode: "suspend", resumeState: state });
    const result = await wf.run();
    assert.equal(result.ok, true, `resumed run failed: ${JSON.stringify(result.error)}`);
    assert.deepEqual(result.value, FULFILLED);
    assert.deepEqual(wf.calls, { createOrder: 0, waitForPayment: 0, fulfill: 1 });
    return "resume -> fulfilled, only fulfill ran";
  },

  async "payment-completed"(state) {
    assert.deepEqual(keysOf(state), ["create-order", HOOK_STEP_KEY, "fulfill"]);
    assert.deepEqual(getPendingHooks(state), []);
    assert.equal(hasPendingHook(state, HOOK_ID), false);
    const wf = paymentWorkflow({ mode: "suspend", resumeState: state });
    const result = await wf.run();
    assert.equal(result.ok, true, `replay failed: ${JSON.stringify(result.error)}`);
    assert.deepEqual(result.value, FULFILLED);
    assert.deepEqual(wf.calls, { createOrder: 0, waitForPayment: 0, fulfill: 0 });
    return "replay -> fulfilled, no operation ran";
  },

  async "failed-step"(state) {
    assert.deepEqual(keysOf(state), ["load", "charge"]);
    assert.equal(okValue(state, "load"), 1);
    assert.equal(errValue(state, "charge"), "GATEWAY_DOWN");
    const wf = failedStepWorkflow({ resumeState: state });
    const result = await wf.run();
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error, "GATEWAY_DOWN");
    assert.deepEqual(wf.calls, { load: 0, charge: 0 });
    return 'replay -> err "GATEWAY_DOWN", charge not called';
  },

  async "thrown-step"(state) {
    assert.deepEqual(keysOf(state), ["load", "explode"]);
    const error = errValue(state, "explode");
    assert.ok(error !== null && typeof error === "object", "explode error should be an object");
    const tag = error.type ?? error._tag;
    assert.equal(tag, "UnexpectedError", "explode error should be tagged UnexpectedError (type or _tag)");
    const wf = thrownStepWorkflow({ resumeState: state });
    const result = await wf.run();
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error.type ?? result.error._tag, "UnexpectedError");
    assert.ok(result.cause instanceof Error, "replayed cause should be an Error (cause.type = \"error\")");
    assert.equal(result.cause.message, "kaput");
    assert.deepEqual(wf.calls, { load: 0, explode: 0 });
    return "replay -> UnexpectedError with cause Error(kaput), explode not called";
  },

  async "loop-steps"(state) {
    const keys = LOOP_ITEMS.map((n) => `item[${n}]`);
    assert.deepEqual(keysOf(state), keys);
    const wf = loopStepsWorkflow({ resumeState: state });
    const result = await wf.run();
    assert.equal(result.ok, true, `replay failed: ${JSON.stringify(result.error)}`);
    assert.deepEqual(
      result.value,
      LOOP_ITEMS.map((_, i) => ({ i, v: "x", done: true })),
    );
    assert.deepEqual(wf.calls, { item: 0 });
    return "replay -> 3 items, no operation ran";
  },
};

/** Fallback for files without a scenario: structural checks only. */
function genericCheck(state) {
  for (const [key, entry] of state.steps) {
    assert.equal(typeof key, "string");
    assert.equal(typeof entry.result.ok, "boolean", `entry "${key}" has no boolean ok`);
  }
  return `no scenario named like this file; deserialized ${state.steps.size} steps (structure only)`;
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

async function checkFile(file) {
  const name = basename(file, ".json");
  const raw = JSON.parse(readFileSync(file, "utf8"));
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

  const ignored = [];
  const canonical = canonicalize(raw, ignored);
  const state = deserializeResumeState(raw);
  const check = scenarios[name];
  const summary = check ? await check(state) : genericCheck(state);
  const note = compareWithAwaitlyFixture(name, canonical);
  return { summary, ignored, note };
}

async function main() {
  if (!existsSync(RUST_DIR)) {
    console.log(`notice: ${relative(REPO_ROOT, RUST_DIR) || RUST_DIR} does not exist; nothing to verify`);
    return 0;
  }
  const files = readdirSync(RUST_DIR)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => join(RUST_DIR, f));
  if (files.length === 0) {
    console.log(`notice: no *.json in ${relative(REPO_ROOT, RUST_DIR) || RUST_DIR}; nothing to verify (run the Rust fixture writer first)`);
    return 0;
  }

  let failures = 0;
  for (const file of files) {
    const label = relative(REPO_ROOT, file);
    try {
      const { summary, ignored, note } = await checkFile(file);
      const extras = ignored.length ? `; ignored by awaitly: ${ignored.join(", ")}` : "";
      if (note && strict) {
        failures += 1;
        console.log(`FAIL ${label}: ${summary}${extras}; shape: ${note}`);
      } else {
        console.log(`ok   ${label}: ${summary}${extras}${note ? `; note: ${note}` : ""}`);
      }
    } catch (e) {
      failures += 1;
      const [first, ...rest] = (e && e.message ? e.message : String(e)).split("\n");
      console.log(`FAIL ${label}: ${first}`);
      // Show assertion diffs (if any) indented under the FAIL line.
      const detail = rest.filter((l) => l.trim() !== "").slice(0, 20);
      for (const line of detail) console.log(`       ${line}`);
    }
  }
  if (failures > 0) console.log(`${failures} of ${files.length} file(s) failed`);
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
