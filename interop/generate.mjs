#!/usr/bin/env node
// Generates resume-state fixtures with the REAL awaitly package (pinned in
// ./package.json) so the Rust port can be checked against them.
//
//   npm ci --prefix interop && node interop/generate.mjs
//
// Every fixture is the JSON form produced by
// `serializeResumeState(collector.getResumeState())`, pretty-printed with a
// 2-space indent and a trailing newline, written to tests/fixtures/awaitly/.
//
// Determinism: the hook id is the fixed string HOOK_ID (no createHook(), which
// would mint a random UUID), no timestamps are recorded, and the one Error that
// gets thrown carries a fixed `stack` (a real stack would embed absolute paths
// and line numbers of this machine).
//
// This module also exports the workflow definitions so that
// verify-rust-states.mjs replays Rust-produced states with exactly the same
// workflows.

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { ok, err } from "awaitly";
import {
  createResumeStateCollector,
  createWorkflow,
  injectHook,
  isPendingHook,
  pendingHook,
  serializeResumeState,
} from "awaitly/workflow";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, "..");
export const AWAITLY_FIXTURES_DIR = join(REPO_ROOT, "tests", "fixtures", "awaitly");

// ---------------------------------------------------------------------------
// Shared constants (the Rust side uses the same values)
// ---------------------------------------------------------------------------

export const HOOK_ID = "hook-fixture-1";
export const HOOK_STEP_KEY = `hook:${HOOK_ID}`;
export const ORDER = Object.freeze({ id: "ord_1", total: 42 });
export const PAYMENT = Object.freeze({ paymentId: "pay_1", amount: 42 });
export const FULFILLED = Object.freeze({ orderId: "ord_1", paymentId: "pay_1", status: "fulfilled" });
export const LOOP_ITEMS = Object.freeze(["a", "b", "c"]);
/** Fixed stack for the thrown Error so the fixture does not depend on this machine's paths. */
export const KAPUT_STACK = "Error: kaput\n    at explode (interop/generate.mjs)";

// ---------------------------------------------------------------------------
// Workflow definitions. Each factory returns { run, calls } where `calls`
// counts how many times each step operation really executed (a replayed step
// does not call its operation).
// ---------------------------------------------------------------------------

function newCounters(names) {
  return Object.fromEntries(names.map((n) => [n, 0]));
}

/**
 * Three-step payment workflow: create-order -> hook:<HOOK_ID> -> fulfill.
 * mode "suspend": the hook step returns pendingHook(...) (as a real callback
 *                 workflow does until injectHook supplies the value).
 * mode "direct":  the hook step returns ok(PAYMENT) straight away.
 */
export function paymentWorkflow({ mode = "suspend", resumeState, onEvent } = {}) {
  const calls = newCounters(["createOrder", "waitForPayment", "fulfill"]);
  const deps = {
    createOrder: async () => {
      calls.createOrder += 1;
      return ok({ ...ORDER });
    },
    waitForPayment: async () => {
      calls.waitForPayment += 1;
      return mode === "direct"
        ? ok({ ...PAYMENT })
        : pendingHook(HOOK_ID, { metadata: { orderId: ORDER.id } });
    },
    fulfill: async (order, payment) => {
      calls.fulfill += 1;
      return ok({ orderId: order.id, paymentId: payment.paymentId, status: "fulfilled" });
    },
  };
  const workflow = createWorkflow("payment-flow", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const order = await step("createOrder", () => d.createOrder(), { key: "create-order" });
      const payment = await step("waitForPayment", () => d.waitForPayment(), { key: HOOK_STEP_KEY });
      return await step("fulfill", () => d.fulfill(order, payment), { key: "fulfill" });
    });
  return { run, calls };
}

/** load -> charge, where charge fails with the plain string error "GATEWAY_DOWN". */
export function failedStepWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["load", "charge"]);
  const deps = {
    load: async () => {
      calls.load += 1;
      return ok(1);
    },
    charge: async () => {
      calls.charge += 1;
      return err("GATEWAY_DOWN");
    },
  };
  const workflow = createWorkflow("failed-step", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const loaded = await step("load", () => d.load(), { key: "load" });
      await step("charge", () => d.charge(), { key: "charge" });
      return loaded;
    });
  return { run, calls };
}

/** load -> explode, where explode's operation throws Error("kaput"). */
export function thrownStepWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["load", "explode"]);
  const deps = {
    load: async () => {
      calls.load += 1;
      return ok(1);
    },
    explode: async () => {
      calls.explode += 1;
      const boom = new Error("kaput");
      boom.stack = KAPUT_STACK;
      throw boom;
    },
  };
  const workflow = createWorkflow("thrown-step", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const loaded = await step("load", () => d.load(), { key: "load" });
      await step("explode", () => d.explode(), { key: "explode" });
      return loaded;
    });
  return { run, calls };
}

/** item[a], item[b], item[c] -> ok({ i, v: "x", done: true }). */
export function loopStepsWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["item"]);
  const deps = {
    item: async (i) => {
      calls.item += 1;
      return ok({ i, v: "x", done: true });
    },
  };
  const workflow = createWorkflow("loop-steps", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const out = [];
      for (const [i, name] of LOOP_ITEMS.entries()) {
        out.push(await step(`item-${name}`, () => d.item(i), { key: `item[${name}]` }));
      }
      return out;
    });
  return { run, calls };
}

// ---------------------------------------------------------------------------
// Fixture generation
// ---------------------------------------------------------------------------

function check(condition, message) {
  if (!condition) throw new Error(`generate.mjs: unexpected awaitly behaviour: ${message}`);
}

/** Runs `factory` fresh with a collector; returns { result, state, calls }. */
async function collect(factory, opts = {}) {
  const collector = createResumeStateCollector();
  const { run, calls } = factory({ ...opts, onEvent: collector.handleEvent });
  const result = await run();
  return { result, state: collector.getResumeState(), calls };
}

export async function buildFixtures() {
  const fixtures = {};

  // payment-suspended: create-order ok, hook step pending -> run suspends.
  const suspended = await collect(paymentWorkflow, { mode: "suspend" });
  check(!suspended.result.ok && isPendingHook(suspended.result.error), "payment run should suspend on the hook");
  check(suspended.calls.fulfill === 0, "fulfill must not run while suspended");
  fixtures["payment-suspended"] = serializeResumeState(suspended.state);

  // payment-injected: the suspended state with the callback payload injected.
  const injected = injectHook(suspended.state, { hookId: HOOK_ID, value: { ...PAYMENT } });
  fixtures["payment-injected"] = serializeResumeState(injected);

  // payment-completed: one fresh run where the hook step succeeds directly.
  const completed = await collect(paymentWorkflow, { mode: "direct" });
  check(completed.result.ok, "direct payment run should succeed");
  fixtures["payment-completed"] = serializeResumeState(completed.state);

  // failed-step: charge fails with a plain string error.
  const failed = await collect(failedStepWorkflow);
  check(!failed.result.ok && failed.result.error === "GATEWAY_DOWN", "failed-step run should fail with GATEWAY_DOWN");
  fixtures["failed-step"] = serializeResumeState(failed.state);

  // thrown-step: explode throws -> UnexpectedError recorded with origin "throw".
  const thrown = await collect(thrownStepWorkflow);
  check(!thrown.result.ok, "thrown-step run should fail");
  fixtures["thrown-step"] = serializeResumeState(thrown.state);

  // loop-steps: three keyed steps in a loop.
  const loop = await collect(loopStepsWorkflow);
  check(loop.result.ok && loop.result.value.length === LOOP_ITEMS.length, "loop-steps run should succeed");
  fixtures["loop-steps"] = serializeResumeState(loop.state);

  return fixtures;
}

export function toPrettyJson(value) {
  return `${JSON.stringify(value, null, 2)}\n`;
}

async function main() {
  mkdirSync(AWAITLY_FIXTURES_DIR, { recursive: true });
  const fixtures = await buildFixtures();
  for (const [name, serialized] of Object.entries(fixtures)) {
    const file = join(AWAITLY_FIXTURES_DIR, `${name}.json`);
    writeFileSync(file, toPrettyJson(serialized));
    console.log(`wrote ${relative(REPO_ROOT, file)} (${serialized.steps.length} steps)`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
