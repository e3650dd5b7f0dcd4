#!/usr/bin/env node
// Workloads 1-4 and 5 (`durable.run`, workload "durable") of issue 4 on the REAL awaitly (pinned in
// ./package.json), for the side-by-side table of benches/compare/main.rs. Prints one JSON document on
// stdout (progress goes to stderr).
//
//   npm ci --prefix bench && node bench/awaitly.mjs [--quick] [--sizes 10,100,1000,10000]
//   node bench/awaitly.mjs --serve [--quick]   # what benches/compare/main.rs runs
//
// --serve: reads one request per line on stdin, `{"workload":"fresh","n":1000}` (or
// `{"bytes":1000}`), and answers each with one JSON line, so the Rust harness can alternate the two
// sides cell by cell (on a shared 2-core machine, interference then hits both sides alike).
//
// Shape and method as behaviour spec §8: N sequential keyed steps, step i recorded under the
// pre-built key `step[i]` (the key our `step!("step", key = i, …)` records) and returning
// ok({ i, v: "x", done: true }) from one async dep; the workflow object is created inside the
// timed region (a fresh workflow per run, as a resuming process would). Each figure is the median
// over samples after a warm-up; a sample is one run, or the mean of a batch of runs when one run
// is shorter than 50 µs (the same rule as benches/compare/main.rs uses for the Rust side).

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { ok } from "awaitly";
import { durable } from "awaitly/durable";
import {
  createHook,
  createResumeStateCollector,
  createWorkflow,
  deserializeResumeState,
  injectHook,
  isPendingHook,
  pendingHook,
  serializeResumeState,
} from "awaitly/workflow";

const here = dirname(fileURLToPath(import.meta.url));
const AWAITLY_VERSION = JSON.parse(
  readFileSync(join(here, "node_modules", "awaitly", "package.json"), "utf8"),
).version;

// ---------------------------------------------------------------------------------------------
// Options and method
// ---------------------------------------------------------------------------------------------

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const sizesArg = args.indexOf("--sizes");
const SIZES = sizesArg >= 0 ? args[sizesArg + 1].split(",").map(Number) : [10, 100, 1000, 10000];

const METHOD = {
  warmUpMs: quick ? 50 : 200,
  measureMs: quick ? 100 : 400,
  minSamples: quick ? 5 : 15,
  maxSamples: 1000,
  sampleTargetNs: 50_000,
};

const now = () => Number(process.hrtime.bigint());

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Workload 5 (awaitly's durable run is quadratic: one run of 10,000 steps takes tens of seconds):
 * a warm-up of >= 1 run and >= 200 ms, then one run per sample for >= 400 ms and >= 3 samples,
 * stopping after 2 s once there is one sample. With `single` (N >= 10,000) no warm-up (the code
 * is warm from the smaller N) and one sample.
 */
async function measureFew(routine, single) {
  const warmStart = now();
  let runs = 0;
  while (!single && (runs < 1 || now() - warmStart < METHOD.warmUpMs * 1e6)) {
    await routine();
    runs += 1;
  }
  const samples = [];
  const start = now();
  for (;;) {
    const t0 = now();
    await routine();
    samples.push(now() - t0);
    const spent = now() - start;
    if (single || (samples.length >= 3 && spent >= METHOD.measureMs * 1e6) || spent >= 2e9) break;
  }
  return { nsPerRun: median(samples), batch: 1, samples: samples.length };
}

/** Median ns per run of `routine` (sync or async), after a warm-up. */
async function measure(routine) {
  const warmStart = now();
  let runs = 0;
  while (runs < 5 || now() - warmStart < METHOD.warmUpMs * 1e6) {
    await routine();
    runs += 1;
  }
  const perRun = (now() - warmStart) / runs;
  const batch = Math.max(1, Math.ceil(METHOD.sampleTargetNs / perRun));
  const samples = [];
  const start = now();
  while (
    samples.length < METHOD.minSamples ||
    (now() - start < METHOD.measureMs * 1e6 && samples.length < METHOD.maxSamples)
  ) {
    const t0 = now();
    for (let b = 0; b < batch; b += 1) await routine();
    samples.push((now() - t0) / batch);
  }
  return { nsPerRun: median(samples), batch, samples: samples.length };
}

// ---------------------------------------------------------------------------------------------
// The workflow, as benches/compare/main.rs and benches/common/mod.rs write it in Rust
// ---------------------------------------------------------------------------------------------

let executed = 0;
const deps = {
  item: async (i) => {
    executed += 1;
    return ok({ i, v: "x", done: true });
  },
  wait: async (hookId) => pendingHook(hookId),
};

const keysCache = new Map();
function keysFor(n) {
  if (!keysCache.has(n)) keysCache.set(n, Array.from({ length: n }, (_, i) => `step[${i}]`));
  return keysCache.get(n);
}

/** Workloads 1-3: n keyed steps; returns the sum of the items' `i`. */
function keyedSteps(n) {
  const keys = keysFor(n);
  return async ({ step, deps: d }) => {
    let sum = 0;
    for (let i = 0; i < n; i += 1) {
      const item = await step("step", () => d.item(i), { key: keys[i] });
      sum += item.i;
    }
    return sum;
  };
}

/** Workload 4: n - 1 keyed steps, then the hook step (createHook's stepKey, pendingHook). */
function keyedStepsThenHook(n, hook) {
  const keys = keysFor(n);
  return async ({ step, deps: d }) => {
    let sum = 0;
    for (let i = 0; i < n - 1; i += 1) {
      const item = await step("step", () => d.item(i), { key: keys[i] });
      sum += item.i;
    }
    const paid = await step("hook", () => d.wait(hook.hookId), { key: hook.stepKey });
    return sum + paid.i;
  };
}

const expectedSum = (n) => (n * (n - 1)) / 2;
const payload = (n) => ({ i: n - 1, v: "x", done: true });

// Workload 1: a fresh run with a collector; the state is part of the result, as in Rust.
async function fresh(n, body) {
  const collector = createResumeStateCollector();
  const workflow = createWorkflow("bench", deps, { onEvent: collector.handleEvent });
  const result = await workflow.run(body);
  return { result, state: collector.getResumeState() };
}

// Workload 2: a full replay from an in-memory resume state.
async function replay(state, body) {
  const workflow = createWorkflow("bench", deps, { resumeState: state });
  return workflow.run(body);
}

// Workload 3.
const toJson = (state) => JSON.stringify(serializeResumeState(state));
const fromJson = (text) => deserializeResumeState(JSON.parse(text));

// Workload 4 and its phases.
async function suspend(n) {
  const hook = createHook();
  const collector = createResumeStateCollector();
  const workflow = createWorkflow("bench", deps, { onEvent: collector.handleEvent });
  const result = await workflow.run(keyedStepsThenHook(n, hook));
  return { hook, result, state: collector.getResumeState() };
}
const inject = (state, hook, n) => injectHook(state, { hookId: hook.hookId, value: payload(n) });
async function resume(n, hook, state) {
  const workflow = createWorkflow("bench", deps, { resumeState: state });
  return workflow.run(keyedStepsThenHook(n, hook));
}
async function hookCycle(n) {
  const { hook, state } = await suspend(n);
  return resume(n, hook, inject(state, hook, n));
}

// Workload 5: awaitly's `durable.run` with its default in-memory store, the same n keyed steps
// (a checkpoint after each); a new id per run (a completed run's state is deleted anyway).
let durableRuns = 0;
async function durableRun(n, body) {
  durableRuns += 1;
  const result = await durable.run(deps, body, { id: `bench-${n}-${durableRuns}` });
  check(result.ok && result.value === expectedSum(n), `durable run of ${n} failed`);
  return result;
}

function check(condition, message) {
  if (!condition) throw new Error(`bench/awaitly.mjs: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

/** The inputs of every workload at size n, built and checked outside the timed regions. */
async function fixture(n) {
  const body = keyedSteps(n);

  const first = await fresh(n, body);
  check(first.result.ok && first.result.value === expectedSum(n), `fresh run of ${n} failed`);
  check(first.state.steps.size === n, `fresh state of ${n} has ${first.state.steps.size} steps`);
  const state = first.state;
  const before = executed;
  const replayed = await replay(state, body);
  check(replayed.ok && replayed.value === expectedSum(n), `replay of ${n} failed`);
  check(executed === before, "a replay must execute nothing");
  const json = toJson(state);
  check(toJson(fromJson(json)) === json, "the JSON form must round-trip");
  const suspended = await suspend(n);
  check(!suspended.result.ok && isPendingHook(suspended.result.error), "must suspend at the hook");
  const injected = inject(suspended.state, suspended.hook, n);
  const resumedBefore = executed;
  const resumed = await resume(n, suspended.hook, injected);
  check(resumed.ok && resumed.value === expectedSum(n), `resume of ${n} failed`);
  check(executed === resumedBefore, "a resume must replay, not execute");

  const workloads = new Map([
    ["fresh", () => fresh(n, body)],
    ["replay", () => replay(state, body)],
    ["to_json", () => toJson(state)],
    ["from_json", () => fromJson(json)],
    ["load_replay", () => replay(fromJson(json), body)],
    ["hook_cycle", () => hookCycle(n)],
    ["suspend", () => suspend(n)],
    ["inject", () => inject(suspended.state, suspended.hook, n)],
    ["resume", () => resume(n, suspended.hook, injected)],
  ]);
  const durableWorkload = () => durableRun(n, body);
  return { bytes: Buffer.byteLength(json), workloads, durable: durableWorkload };
}

async function serve() {
  const fixtures = new Map();
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const request = JSON.parse(line);
    const n = request.n ?? request.bytes;
    if (!fixtures.has(n)) fixtures.set(n, await fixture(n));
    const { bytes, workloads, durable: durableWorkload } = fixtures.get(n);
    let answer;
    if (request.bytes !== undefined) {
      answer = { n, bytes };
    } else if (request.workload === "durable") {
      answer = { workload: "durable", n, ...(await measureFew(durableWorkload, n >= 10_000)) };
    } else {
      const routine = workloads.get(request.workload);
      check(routine !== undefined, `unknown workload ${request.workload}`);
      answer = { workload: request.workload, n, ...(await measure(routine)) };
    }
    const reply = { runtime: `node ${process.version}`, awaitly: AWAITLY_VERSION, ...answer };
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
}

async function main() {
  if (args.includes("--serve")) return serve();
  const results = [];
  const bytes = [];
  for (const n of SIZES) {
    const { bytes: size, workloads, durable: durableWorkload } = await fixture(n);
    bytes.push({ n, bytes: size, bytesPerStep: size / n });
    for (const [workload, routine] of workloads) {
      const { nsPerRun, batch, samples } = await measure(routine);
      results.push({ workload, n, nsPerStep: nsPerRun / n, nsPerRun, batch, samples });
      process.stderr.write(`awaitly ${workload} N=${n}: ${(nsPerRun / n).toFixed(0)} ns/step\n`);
    }
    const { nsPerRun, batch, samples } = await measureFew(durableWorkload, n >= 10_000);
    results.push({ workload: "durable", n, nsPerStep: nsPerRun / n, nsPerRun, batch, samples });
    process.stderr.write(`awaitly durable N=${n}: ${(nsPerRun / n).toFixed(0)} ns/step\n`);
  }
  const report = {
    runtime: `node ${process.version}`,
    awaitly: AWAITLY_VERSION,
    method: METHOD,
    results,
    bytes,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
