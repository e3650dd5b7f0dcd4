// What awaitly must make of each state the Rust port writes (tests/fixtures/rust/<name>.json):
// one check per fixture name. Each receives the deserialized state and the raw JSON, replays the
// state with the awaitly workflow of workflows.mjs, asserts the outcome and that replayed steps
// did not execute again, and returns a one-line summary. Any failed assertion throws.

import assert from "node:assert/strict";

import {
  getPendingApprovals,
  getPendingHooks,
  hasPendingApproval,
  hasPendingHook,
  injectApproval,
  injectHook,
  isApprovalRejected,
  isPendingApproval,
  isPendingHook,
} from "awaitly/workflow";

import {
  APPROVAL_KEY,
  CREATED_HOOK_ID,
  CREATED_PAYLOAD,
  CUT_TITLE,
  EDITED_AMOUNT,
  FULFILLED,
  GRANTED_AMOUNT,
  HOOK_ID,
  HOOK_STEP_KEY,
  LOOP_ITEMS,
  NOTE_PAYLOAD,
  ORDER,
  PAYMENT,
  REFUND_METADATA,
  REFUND_REASON,
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

/** Runs `workflow` (a { run, calls } pair) and returns { result, calls }. */
async function replay(workflow) {
  const result = await workflow.run();
  return { result, calls: workflow.calls };
}

function expectOk(result, value) {
  assert.equal(result.ok, true, `replay failed: ${JSON.stringify(result.error)}`);
  assert.deepEqual(result.value, value);
}

const noRefundCalls = { checkApproval: 0, pay: 0 };

export const rustScenarios = {
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
    const stuck = await replay(paymentWorkflow({ mode: "suspend", resumeState: state }));
    assert.equal(stuck.result.ok, false, "replay without injection should stay suspended");
    assert.ok(isPendingHook(stuck.result.error));
    assert.deepEqual(stuck.calls, { createOrder: 0, waitForPayment: 0, fulfill: 0 });

    // Deliver the callback payload and resume.
    const injected = injectHook(state, { hookId: HOOK_ID, value: { ...PAYMENT } });
    assert.equal(hasPendingHook(state, HOOK_ID), true, "injectHook must not mutate its input");
    assert.deepEqual(getPendingHooks(injected), []);
    const resumed = await replay(paymentWorkflow({ mode: "suspend", resumeState: injected }));
    expectOk(resumed.result, FULFILLED);
    assert.deepEqual(resumed.calls, { createOrder: 0, waitForPayment: 0, fulfill: 1 });
    return "pending hook found, injectHook + resume -> fulfilled, create-order not re-run";
  },

  async "payment-injected"(state) {
    assert.deepEqual(keysOf(state), ["create-order", HOOK_STEP_KEY]);
    assert.deepEqual(okValue(state, HOOK_STEP_KEY), PAYMENT);
    assert.deepEqual(getPendingHooks(state), []);
    const { result, calls } = await replay(paymentWorkflow({ mode: "suspend", resumeState: state }));
    expectOk(result, FULFILLED);
    assert.deepEqual(calls, { createOrder: 0, waitForPayment: 0, fulfill: 1 });
    return "resume -> fulfilled, only fulfill ran";
  },

  async "payment-completed"(state) {
    assert.deepEqual(keysOf(state), ["create-order", HOOK_STEP_KEY, "fulfill"]);
    assert.deepEqual(getPendingHooks(state), []);
    assert.equal(hasPendingHook(state, HOOK_ID), false);
    const { result, calls } = await replay(paymentWorkflow({ mode: "suspend", resumeState: state }));
    expectOk(result, FULFILLED);
    assert.deepEqual(calls, { createOrder: 0, waitForPayment: 0, fulfill: 0 });
    return "replay -> fulfilled, no operation ran";
  },

  async "failed-step"(state) {
    assert.deepEqual(keysOf(state), ["load", "charge"]);
    assert.equal(okValue(state, "load"), 1);
    assert.equal(errValue(state, "charge"), "GATEWAY_DOWN");
    const { result, calls } = await replay(failedStepWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error, "GATEWAY_DOWN");
    assert.deepEqual(calls, { load: 0, charge: 0 });
    return 'replay -> err "GATEWAY_DOWN", charge not called';
  },

  async "thrown-step"(state) {
    assert.deepEqual(keysOf(state), ["load", "explode"]);
    const error = errValue(state, "explode");
    assert.equal(error?.type ?? error?._tag, "UnexpectedError", "explode error should be tagged UnexpectedError");
    const { result, calls } = await replay(thrownStepWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error.type ?? result.error._tag, "UnexpectedError");
    assert.ok(result.cause instanceof Error, 'replayed cause should be an Error (cause.type = "error")');
    assert.equal(result.cause.message, "kaput");
    assert.deepEqual(calls, { load: 0, explode: 0 });
    return "replay -> UnexpectedError with cause Error(kaput), explode not called";
  },

  async "loop-steps"(state) {
    assert.deepEqual(keysOf(state), LOOP_ITEMS.map((n) => `item[${n}]`));
    const { result, calls } = await replay(loopStepsWorkflow({ resumeState: state }));
    expectOk(result, LOOP_ITEMS.map((_, i) => ({ i, v: "x", done: true })));
    assert.deepEqual(calls, { item: 0 });
    return "replay -> 3 items, no operation ran";
  },

  async "approval-pending"(state) {
    assert.deepEqual(keysOf(state), [APPROVAL_KEY]);
    const pending = errValue(state, APPROVAL_KEY);
    assert.ok(isPendingApproval(pending), "the entry should be a PENDING_APPROVAL error");
    assert.equal(pending.reason, REFUND_REASON);
    assert.deepEqual(pending.metadata, REFUND_METADATA);
    assert.equal(hasPendingApproval(state, APPROVAL_KEY), true);
    assert.deepEqual(getPendingApprovals(state), [APPROVAL_KEY]);
    const stuck = await replay(refundWorkflow({ resumeState: state }));
    assert.ok(!stuck.result.ok && isPendingApproval(stuck.result.error), "replay should still wait");
    assert.deepEqual(stuck.calls, noRefundCalls);
    const granted = injectApproval(state, { stepKey: APPROVAL_KEY, value: GRANTED_AMOUNT });
    const resumed = await replay(refundWorkflow({ resumeState: granted }));
    expectOk(resumed.result, `refunded ${GRANTED_AMOUNT}`);
    assert.deepEqual(resumed.calls, { checkApproval: 0, pay: 1 });
    return "pending approval found, injectApproval + resume -> refunded, checkApproval never called";
  },

  async "approval-granted"(state) {
    const { result, calls } = await replay(refundWorkflow({ resumeState: state }));
    expectOk(result, `refunded ${GRANTED_AMOUNT}`);
    assert.deepEqual(calls, { checkApproval: 0, pay: 1 });
    return `granted in Rust -> refunded ${GRANTED_AMOUNT}, only pay ran`;
  },

  async "approval-edited"(state) {
    const { result, calls } = await replay(refundWorkflow({ resumeState: state }));
    expectOk(result, `refunded ${EDITED_AMOUNT}`);
    assert.deepEqual(calls, { checkApproval: 0, pay: 1 });
    return `edited in Rust -> refunded ${EDITED_AMOUNT}, only pay ran`;
  },

  async "approval-rejected"(state) {
    const { result, calls } = await replay(refundWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.ok(isApprovalRejected(result.error), `expected APPROVAL_REJECTED, got ${JSON.stringify(result.error)}`);
    assert.equal(result.error.stepKey, APPROVAL_KEY);
    assert.equal(result.error.reason, REJECT_REASON);
    assert.deepEqual(calls, noRefundCalls);
    return "rejected in Rust -> err APPROVAL_REJECTED (isApprovalRejected), nothing ran";
  },

  async "approval-expired"(state) {
    const { result, calls } = await replay(refundWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error.type, "APPROVAL_EXPIRED");
    assert.equal(result.error.stepKey, APPROVAL_KEY);
    assert.deepEqual(calls, noRefundCalls);
    return "expired in Rust -> err APPROVAL_EXPIRED, nothing ran";
  },

  async "created-hook-pending"(state) {
    const hookKey = `hook:${CREATED_HOOK_ID}`;
    assert.deepEqual(keysOf(state), ["payment", hookKey]);
    assert.equal(okValue(state, "payment"), CREATED_HOOK_ID);
    assert.equal(hasPendingHook(state, CREATED_HOOK_ID), true);
    const stuck = await replay(createdHookWorkflow({ resumeState: state }));
    assert.ok(!stuck.result.ok && stuck.result.error.hookId === CREATED_HOOK_ID, "replay should wait for the same hook");
    assert.deepEqual(stuck.calls, { mintHook: 0, waitForPayment: 0, receipt: 0 });
    const delivered = injectHook(state, { hookId: CREATED_HOOK_ID, value: CREATED_PAYLOAD });
    const resumed = await replay(createdHookWorkflow({ resumeState: delivered }));
    expectOk(resumed.result, `paid ${CREATED_PAYLOAD}`);
    assert.deepEqual(resumed.calls, { mintHook: 0, waitForPayment: 0, receipt: 1 });
    return "the recorded hook id is reused, injectHook + resume -> paid, no new hook minted";
  },

  async "created-hook-delivered"(state) {
    const { result, calls } = await replay(createdHookWorkflow({ resumeState: state }));
    expectOk(result, `paid ${CREATED_PAYLOAD}`);
    assert.deepEqual(calls, { mintHook: 0, waitForPayment: 0, receipt: 1 });
    return "delivered in Rust -> paid, only receipt ran";
  },

  async "sleep-waiting"(state) {
    assert.deepEqual(okValue(state, "nap"), { wakeAt: WAKE_AT });
    const early = await replay(napWorkflow({ now: T0, resumeState: state }));
    expectOk(early.result, { sleepingUntil: WAKE_AT });
    assert.deepEqual(early.calls, { nap: 0, after: 0 });
    const due = await replay(napWorkflow({ now: WAKE_AT, resumeState: state }));
    expectOk(due.result, "rested");
    assert.deepEqual(due.calls, { nap: 0, after: 1 });
    return "the wake-up time holds: asleep before it, rested at it, the nap not restarted";
  },

  async "sleep-done"(state) {
    const { result, calls } = await replay(napWorkflow({ now: WAKE_AT, resumeState: state }));
    expectOk(result, "rested");
    assert.deepEqual(calls, { nap: 0, after: 0 });
    return "replay -> rested, nothing ran";
  },

  async "nested-cause"(state) {
    const { result, calls } = await replay(nestedCauseWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error.type ?? result.error._tag, "UnexpectedError");
    assert.ok(result.cause instanceof Error, "the cause should be an Error");
    assert.equal(result.cause.message, "outer");
    assert.ok(result.cause.cause instanceof Error, "the cause's cause should be an Error");
    assert.equal(result.cause.cause.name, "TypeError");
    assert.equal(result.cause.cause.message, "inner");
    assert.equal(result.cause.cause.cause, "root");
    assert.deepEqual(calls, { load: 0, explode: 0 });
    return "replay -> UnexpectedError caused by Error(outer) <- TypeError(inner) <- \"root\"";
  },

  async "undefined-values"(state, raw) {
    const entries = new Map(raw.steps);
    assert.ok(!("value" in entries.get("nothing")), 'Rust wrote "value" for undefined');
    assert.ok(!("error" in entries.get("fail")), 'Rust wrote "error" for undefined');
    assert.equal(okValue(state, "nothing"), undefined);
    const { result, calls } = await replay(undefinedValuesWorkflow({ resumeState: state }));
    assert.equal(result.ok, false, "replay should fail");
    assert.equal(result.error, undefined);
    assert.deepEqual(calls, { nothing: 0, fail: 0 });
    return "undefined stays undefined (no value, no error) -> err(undefined), nothing ran";
  },

  async "lone-surrogates"(state) {
    assert.equal(okValue(state, "title"), CUT_TITLE);
    assert.equal(okValue(state, `approve:${CUT_TITLE}`), `${CUT_TITLE}!`);
    const { result, calls } = await replay(notesWorkflow({ resumeState: state }));
    expectOk(result, `${CUT_TITLE}|${CUT_TITLE}!|${NOTE_PAYLOAD}`);
    assert.deepEqual(calls, { title: 0, checkApproval: 0, waitForNote: 0, summary: 0 });
    return "the cut emoji (\\ud83c) kept in keys and values -> same summary, nothing ran";
  },
};
