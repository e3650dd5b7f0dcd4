#!/usr/bin/env node
// Writes the fixtures of the interop check with the REAL awaitly package (pinned in
// ./package.json):
//
//   npm ci --prefix interop && node interop/generate.mjs
//   node interop/generate.mjs --check    # write nothing; fail if a committed fixture differs
//
// 1. tests/fixtures/awaitly/<name>.json: states awaitly itself writes,
//    `serializeResumeState(collector.getResumeState())`, running the workflows of workflows.mjs.
//    The Rust port replays them (tests/interop.rs).
// 2. tests/fixtures/rust-via-awaitly/<name>.json: every state the Rust port wrote
//    (tests/fixtures/rust/<name>.json) after a round trip through awaitly's
//    deserializeResumeState + serializeResumeState — what a Node service hands back after
//    touching a state. The Rust port replays them too; verify-rust-states.mjs fails when they are
//    stale.
//
// All fixtures are 2-space JSON with a trailing newline, and deterministic (fixed ids, fixed
// times, fixed stacks: see workflows.mjs). Order when the Rust side changed what it writes:
// `AWAITLY_BLESS=1 cargo test --test interop`, then this script, then `cargo test --test interop`.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { createApprovalChecker, createMemoryApprovalStore } from "awaitly/hitl";
import {
  createResumeStateCollector,
  deserializeResumeState,
  injectApproval,
  injectHook,
  isPendingApproval,
  isPendingHook,
  serializeResumeState,
} from "awaitly/workflow";

import {
  APPROVAL_KEY,
  CREATED_HOOK_ID,
  CREATED_PAYLOAD,
  CUT_TITLE,
  EDITED_AMOUNT,
  GRANTED_AMOUNT,
  HOOK_ID,
  LOOP_ITEMS,
  NOTE_HOOK_ID,
  PAYMENT,
  REFUND_METADATA,
  REJECT_REASON,
  T0,
  WAKE_AT,
  createdHookWorkflow,
  failedStepWorkflow,
  loopStepsWorkflow,
  napWorkflow,
  nestedCauseWorkflow,
  notesWorkflow,
  paymentWorkflow,
  refundWorkflow,
  thrownStepWorkflow,
  undefinedValuesWorkflow,
} from "./workflows.mjs";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, "..");
export const FIXTURES = join(REPO_ROOT, "tests", "fixtures");
export const AWAITLY_FIXTURES_DIR = join(FIXTURES, "awaitly");
export const RUST_FIXTURES_DIR = join(FIXTURES, "rust");
export const RUST_VIA_AWAITLY_DIR = join(FIXTURES, "rust-via-awaitly");
export const AWAITLY_VIA_RUST_DIR = join(FIXTURES, "awaitly-via-rust");

function check(condition, message) {
  if (!condition) throw new Error(`generate.mjs: unexpected awaitly behaviour: ${message}`);
}

/** Runs `factory` with a collector; returns { result, state, calls }. */
async function collect(factory, opts = {}) {
  const collector = createResumeStateCollector();
  const { run, calls } = factory({ ...opts, onEvent: collector.handleEvent });
  const result = await run();
  return { result, state: collector.getResumeState(), calls };
}

/**
 * A resumed run's collector holds only the steps it executed (awaitly replays emit nothing), so a
 * durable caller merges: earlier entries, overwritten by the new ones.
 */
function merged(earlier, later) {
  return { steps: new Map([...earlier.steps, ...later.steps]) };
}

/** An approval store with one decision under APPROVAL_KEY, as awaitly's HITL helpers keep it. */
async function decidedBy(decision) {
  const store = createMemoryApprovalStore();
  await store.createApproval(APPROVAL_KEY, {
    metadata: { ...REFUND_METADATA },
    // Already past for "expired"; a week ahead otherwise (Date.now: the store's own clock).
    expiresAt: decision === "expired" ? 1 : Date.now() + 7 * 86_400_000,
  });
  if (decision === "edited") {
    await store.editApproval(APPROVAL_KEY, REFUND_METADATA.amount, EDITED_AMOUNT, { editedBy: "grace" });
  } else if (decision === "rejected") {
    await store.rejectApproval(APPROVAL_KEY, REJECT_REASON, { rejectedBy: "grace" });
  }
  return createApprovalChecker(store)(APPROVAL_KEY);
}

export async function buildFixtures() {
  const fixtures = {};

  // payment-*: create-order ok, the hook pending / injected / answered directly.
  const suspended = await collect(paymentWorkflow, { mode: "suspend" });
  check(!suspended.result.ok && isPendingHook(suspended.result.error), "payment run should suspend on the hook");
  check(suspended.calls.fulfill === 0, "fulfill must not run while suspended");
  fixtures["payment-suspended"] = suspended.state;
  fixtures["payment-injected"] = injectHook(suspended.state, { hookId: HOOK_ID, value: { ...PAYMENT } });
  const completed = await collect(paymentWorkflow, { mode: "direct" });
  check(completed.result.ok, "direct payment run should succeed");
  fixtures["payment-completed"] = completed.state;

  // failed-step: charge fails with a plain string error.
  const failed = await collect(failedStepWorkflow);
  check(!failed.result.ok && failed.result.error === "GATEWAY_DOWN", "failed-step run should fail with GATEWAY_DOWN");
  fixtures["failed-step"] = failed.state;

  // thrown-step: explode throws -> UnexpectedError recorded with origin "throw".
  const thrown = await collect(thrownStepWorkflow);
  check(!thrown.result.ok, "thrown-step run should fail");
  fixtures["thrown-step"] = thrown.state;

  // loop-steps: three keyed steps in a loop.
  const loop = await collect(loopStepsWorkflow);
  check(loop.result.ok && loop.result.value.length === LOOP_ITEMS.length, "loop-steps run should succeed");
  fixtures["loop-steps"] = loop.state;

  // approval-*: pending; granted by injectApproval; edited, rejected and expired through
  // createApprovalChecker over a memory approval store.
  const pending = await collect(refundWorkflow);
  check(!pending.result.ok && isPendingApproval(pending.result.error), "refund run should wait for approval");
  fixtures["approval-pending"] = pending.state;
  fixtures["approval-granted"] = injectApproval(pending.state, { stepKey: APPROVAL_KEY, value: GRANTED_AMOUNT });
  for (const decision of ["edited", "rejected", "expired"]) {
    const decided = await collect(refundWorkflow, { decide: await decidedBy(decision) });
    check(decided.result.ok === (decision === "edited"), `refund run ${decision}: ${JSON.stringify(decided.result)}`);
    fixtures[`approval-${decision}`] = decided.state;
  }

  // created-hook-*: the hook id recorded by a step, the payload pending / injected.
  const created = await collect(createdHookWorkflow);
  check(!created.result.ok && created.result.error.hookId === CREATED_HOOK_ID, "created-hook run should suspend");
  fixtures["created-hook-pending"] = created.state;
  fixtures["created-hook-delivered"] = injectHook(created.state, { hookId: CREATED_HOOK_ID, value: CREATED_PAYLOAD });

  // sleep-*: the nap recorded at T0; a run at its wake-up time goes on.
  const napping = await collect(napWorkflow, { now: T0 });
  check(napping.result.ok && napping.result.value.sleepingUntil === WAKE_AT, "nap run should sleep until WAKE_AT");
  fixtures["sleep-waiting"] = napping.state;
  const woken = await collect(napWorkflow, { now: WAKE_AT, resumeState: napping.state });
  check(woken.result.ok && woken.result.value === "rested", "nap run at WAKE_AT should go on");
  fixtures["sleep-done"] = merged(napping.state, woken.state);

  // nested-cause: Error("outer") caused by TypeError("inner") caused by "root".
  const nested = await collect(nestedCauseWorkflow);
  check(!nested.result.ok && nested.result.cause?.cause?.message === "inner", "nested-cause run should fail with its causes");
  fixtures["nested-cause"] = nested.state;

  // undefined-values: ok(undefined) and err(undefined).
  const undef = await collect(undefinedValuesWorkflow);
  check(!undef.result.ok && undef.result.error === undefined, "undefined-values run should fail with undefined");
  fixtures["undefined-values"] = undef.state;

  // lone-surrogates: the cut title everywhere; approval granted, waiting for the note hook.
  const asked = await collect(notesWorkflow);
  check(!asked.result.ok && isPendingApproval(asked.result.error), "notes run should wait for approval");
  const approved = injectApproval(asked.state, { stepKey: `approve:${CUT_TITLE}`, value: `${CUT_TITLE}!` });
  const waiting = await collect(notesWorkflow, { resumeState: approved });
  check(!waiting.result.ok && waiting.result.error.hookId === NOTE_HOOK_ID, "notes run should wait for the note");
  fixtures["lone-surrogates"] = merged(approved, waiting.state);

  return Object.fromEntries(Object.entries(fixtures).map(([name, state]) => [name, serializeResumeState(state)]));
}

export function toPrettyJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** A state's JSON text after a round trip through awaitly's deserialiser and serialiser. */
export function throughAwaitly(text) {
  return toPrettyJson(serializeResumeState(deserializeResumeState(JSON.parse(text))));
}

/** The names of the *.json files in `dir`, sorted. */
export function jsonNames(dir) {
  let files;
  try {
    files = readdirSync(dir);
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => basename(f, ".json"));
}

/** Every file this script owns, by path: its text. */
async function allFixtures() {
  const files = new Map();
  for (const [name, serialized] of Object.entries(await buildFixtures())) {
    files.set(join(AWAITLY_FIXTURES_DIR, `${name}.json`), toPrettyJson(serialized));
  }
  for (const name of jsonNames(RUST_FIXTURES_DIR)) {
    const text = readFileSync(join(RUST_FIXTURES_DIR, `${name}.json`), "utf8");
    files.set(join(RUST_VIA_AWAITLY_DIR, `${name}.json`), throughAwaitly(text));
  }
  return files;
}

async function main() {
  const checkOnly = process.argv.includes("--check");
  let stale = 0;
  for (const [file, text] of await allFixtures()) {
    const label = relative(REPO_ROOT, file);
    if (checkOnly) {
      let committed = null;
      try {
        committed = readFileSync(file, "utf8");
      } catch {
        // Missing: reported below.
      }
      if (committed !== text) {
        stale += 1;
        console.log(`STALE ${label}: not what awaitly writes now; run node interop/generate.mjs`);
      }
      continue;
    }
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${label}`);
  }
  if (checkOnly) console.log(stale ? `${stale} fixture(s) stale` : "every fixture is what awaitly writes");
  return stale ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(2);
    },
  );
}
