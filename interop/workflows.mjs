// The awaitly workflows of the interop check and the constants both sides share.
//
// generate.mjs runs them to write tests/fixtures/awaitly/*.json; verify-rust-states.mjs replays
// states written by the Rust port with them. tests/interop/workflows.rs holds the Rust twin of
// each, key for key.
//
// Determinism: hook ids are fixed strings (no createHook(), which mints a random UUID), time is a
// fixed `now`, and every thrown Error carries a fixed `stack` (a real one would embed this
// machine's paths).

import { ok, err } from "awaitly";
import { createApprovalStep, createWorkflow, pendingHook } from "awaitly/workflow";

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

/** A fixed "now" (milliseconds since the Unix epoch): the Rust side runs on a ManualClock at it. */
export const T0 = 1_800_000_000_000;

export const APPROVAL_KEY = "approve:refund:42";
export const REFUND_REASON = "refund over the limit";
export const REFUND_METADATA = Object.freeze({ amount: 150 });
export const GRANTED_AMOUNT = 120;
export const EDITED_AMOUNT = 80;
export const REJECT_REASON = "over budget";
/** What awaitly's createApprovalChecker answers for an expired approval. */
export const EXPIRED_REASON = "Approval request expired";

/** Stands in for createHook().hookId, recorded as the value of the step "payment". */
export const CREATED_HOOK_ID = "hook-created-1";
export const CREATED_PAYLOAD = 7;

export const NAP_MS = 60_000;
export const WAKE_AT = T0 + NAP_MS;

/** Fixed stacks of the nested Errors thrown by nestedCauseWorkflow. */
export const OUTER_STACK = "Error: outer\n    at explode (interop/workflows.mjs)";
export const INNER_STACK = "TypeError: inner\n    at parse (interop/workflows.mjs)";

/** "tea 🍵" cut inside its emoji, as String.prototype.slice does: ends in the lone unit \ud83c. */
export const CUT_TITLE = "tea 🍵".slice(0, -1);
export const NOTE_HOOK_ID = "hook-notes-1";
export const NOTE_PAYLOAD = "ok";

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


/**
 * An approval under APPROVAL_KEY (createApprovalStep), then "pay". `decide` answers
 * checkApproval: pending by default; awaitly's createApprovalChecker(store)(key) for a real store.
 */
export function refundWorkflow({ decide = async () => ({ status: "pending" }), resumeState, onEvent } = {}) {
  const calls = newCounters(["checkApproval", "pay"]);
  const approval = createApprovalStep({
    key: APPROVAL_KEY,
    checkApproval: async () => {
      calls.checkApproval += 1;
      return decide();
    },
    pendingReason: REFUND_REASON,
    metadata: { ...REFUND_METADATA },
  });
  const deps = {
    pay: async (amount) => {
      calls.pay += 1;
      return ok(`refunded ${amount}`);
    },
  };
  const workflow = createWorkflow("refund", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const amount = await step("approve", approval, { key: APPROVAL_KEY });
      return await step("pay", () => d.pay(amount), { key: "pay" });
    });
  return { run, calls };
}

/**
 * A hook created inside the workflow, the way Rust's `await_hook!("payment")` records it: the id
 * is the value of the step "payment" (so replays reuse it), the payload arrives under "hook:<id>".
 */
export function createdHookWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["mintHook", "waitForPayment", "receipt"]);
  const deps = {
    mintHook: async () => {
      calls.mintHook += 1;
      return ok(CREATED_HOOK_ID);
    },
    waitForPayment: async (hookId) => {
      calls.waitForPayment += 1;
      return pendingHook(hookId, { metadata: { orderId: ORDER.id } });
    },
    receipt: async (amount) => {
      calls.receipt += 1;
      return ok(`paid ${amount}`);
    },
  };
  const workflow = createWorkflow("created-hook", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const hookId = await step("payment", () => d.mintHook(), { key: "payment" });
      const amount = await step("waitForPayment", () => d.waitForPayment(hookId), { key: `hook:${hookId}` });
      return await step("receipt", () => d.receipt(amount), { key: "receipt" });
    });
  return { run, calls };
}

/**
 * A durable sleep the way Rust's `sleep!("nap", 1 min)` records it: the step "nap" holds
 * `{wakeAt}`; before then the run returns `{sleepingUntil}` without going on.
 */
export function napWorkflow({ now = T0, resumeState, onEvent } = {}) {
  const calls = newCounters(["nap", "after"]);
  const deps = {
    nap: async () => {
      calls.nap += 1;
      return ok({ wakeAt: now + NAP_MS });
    },
    after: async () => {
      calls.after += 1;
      return ok("rested");
    },
  };
  const workflow = createWorkflow("nap", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const { wakeAt } = await step("nap", () => d.nap(), { key: "nap" });
      if (now < wakeAt) return { sleepingUntil: wakeAt };
      return await step("after", () => d.after(), { key: "after" });
    });
  return { run, calls };
}

/** load -> explode, which throws Error("outer") caused by TypeError("inner") caused by "root". */
export function nestedCauseWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["load", "explode"]);
  const deps = {
    load: async () => {
      calls.load += 1;
      return ok(1);
    },
    explode: async () => {
      calls.explode += 1;
      const inner = new TypeError("inner", { cause: "root" });
      inner.stack = INNER_STACK;
      const outer = new Error("outer", { cause: inner });
      outer.stack = OUTER_STACK;
      throw outer;
    },
  };
  const workflow = createWorkflow("nested-cause", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const loaded = await step("load", () => d.load(), { key: "load" });
      await step("explode", () => d.explode(), { key: "explode" });
      return loaded;
    });
  return { run, calls };
}

/** nothing -> ok(undefined), fail -> err(undefined): JSON without "value" and without "error". */
export function undefinedValuesWorkflow({ resumeState, onEvent } = {}) {
  const calls = newCounters(["nothing", "fail"]);
  const deps = {
    nothing: async () => {
      calls.nothing += 1;
      return ok(undefined);
    },
    fail: async () => {
      calls.fail += 1;
      return err(undefined);
    },
  };
  const workflow = createWorkflow("undefined-values", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const nothing = await step("nothing", () => d.nothing(), { key: "nothing" });
      await step("fail", () => d.fail(), { key: "fail" });
      return nothing;
    });
  return { run, calls };
}

/**
 * Lone surrogates everywhere: a title cut inside its emoji is a step's value, part of an approval's
 * key, reason and metadata, and a hook's metadata; "summary" joins title, approval and payload.
 */
export function notesWorkflow({ decide = async () => ({ status: "pending" }), resumeState, onEvent } = {}) {
  const calls = newCounters(["title", "checkApproval", "waitForNote", "summary"]);
  const deps = {
    title: async () => {
      calls.title += 1;
      return ok(CUT_TITLE);
    },
    waitForNote: async (title) => {
      calls.waitForNote += 1;
      return pendingHook(NOTE_HOOK_ID, { metadata: { title } });
    },
    summary: async (...parts) => {
      calls.summary += 1;
      return ok(parts.join("|"));
    },
  };
  const workflow = createWorkflow("notes", deps, { resumeState, onEvent });
  const run = () =>
    workflow.run(async ({ step, deps: d }) => {
      const title = await step("title", () => d.title(), { key: "title" });
      const key = `approve:${title}`;
      const approval = createApprovalStep({
        key,
        checkApproval: async () => {
          calls.checkApproval += 1;
          return decide();
        },
        pendingReason: `publish ${title}`,
        metadata: { title },
      });
      const approved = await step("approve", approval, { key });
      const note = await step("waitForNote", () => d.waitForNote(title), { key: `hook:${NOTE_HOOK_ID}` });
      return await step("summary", () => d.summary(title, approved, note), { key: "summary" });
    });
  return { run, calls };
}

/**
 * How a state of each fixture name is replayed: the workflow, set up as the name says (a nap
 * fixture replays at the time it was taken). Used for awaitly's own fixtures and for the Rust
 * port's.
 */
export const REPLAY = {
  "payment-suspended": (resumeState) => paymentWorkflow({ mode: "suspend", resumeState }),
  "payment-injected": (resumeState) => paymentWorkflow({ mode: "suspend", resumeState }),
  "payment-completed": (resumeState) => paymentWorkflow({ mode: "suspend", resumeState }),
  "failed-step": (resumeState) => failedStepWorkflow({ resumeState }),
  "thrown-step": (resumeState) => thrownStepWorkflow({ resumeState }),
  "loop-steps": (resumeState) => loopStepsWorkflow({ resumeState }),
  "approval-pending": (resumeState) => refundWorkflow({ resumeState }),
  "approval-granted": (resumeState) => refundWorkflow({ resumeState }),
  "approval-edited": (resumeState) => refundWorkflow({ resumeState }),
  "approval-rejected": (resumeState) => refundWorkflow({ resumeState }),
  "approval-expired": (resumeState) => refundWorkflow({ resumeState }),
  "created-hook-pending": (resumeState) => createdHookWorkflow({ resumeState }),
  "created-hook-delivered": (resumeState) => createdHookWorkflow({ resumeState }),
  "sleep-waiting": (resumeState) => napWorkflow({ now: T0, resumeState }),
  "sleep-done": (resumeState) => napWorkflow({ now: WAKE_AT, resumeState }),
  "nested-cause": (resumeState) => nestedCauseWorkflow({ resumeState }),
  "undefined-values": (resumeState) => undefinedValuesWorkflow({ resumeState }),
  "lone-surrogates": (resumeState) => notesWorkflow({ resumeState }),
};
