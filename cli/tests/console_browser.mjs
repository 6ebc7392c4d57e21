// The console in a real browser: headless Chromium (Debian's package)
// driven over the DevTools protocol with Node's own WebSocket, no npm
// package and no browser download. Run by cli/tests/console.rs:
//
//   node --experimental-websocket console_browser.mjs URL [SCREENSHOT_DIR]
//
// URL is the console's first line of output (with its token). CONSOLE_EXPECT
// (JSON) names what the seeded stack holds. Every page must load with no
// console error (CSP violations included), run no script, and not overflow
// a 390 px wide screen; the filters, the dry run, an edit and a replay are
// worked through the pages' own forms. Prints one line per check and
// "N passed, N failed"; exits 1 if any failed.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [startUrl, shotsDir] = process.argv.slice(2);
const expect = JSON.parse(process.env.CONSOLE_EXPECT || "{}");
const base = new URL(startUrl).origin;
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";
const profile = mkdtempSync(join(tmpdir(), "callhooks-console-"));
const browser = spawn(
  chromium,
  [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    "--hide-scrollbars", `--user-data-dir=${profile}`, "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0", "about:blank",
  ],
  { stdio: ["ignore", "ignore", "ignore"] },
);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const deadline = Date.now() + 240_000;
let results = { passed: 0, failed: 0 };

function finish(code) {
  try { browser.kill("SIGKILL"); } catch {}
  try { rmSync(profile, { recursive: true, force: true }); } catch {}
  process.exit(code);
}
setTimeout(() => { console.log("not ok - the browser checks took over 4 minutes"); finish(1); }, 240_000).unref();

// DevToolsActivePort: the port on the first line, the browser's path on the second.
let endpoint;
for (let i = 0; i < 300 && !endpoint; i++) {
  const file = join(profile, "DevToolsActivePort");
  if (existsSync(file)) {
    const [port, path] = readFileSync(file, "utf8").split("\n");
    if (port && path) endpoint = `ws://127.0.0.1:${port.trim()}${path.trim()}`;
  }
  if (!endpoint) await sleep(100);
}
if (!endpoint) { console.log(`not ok - ${chromium} did not start`); finish(1); }

const socket = new WebSocket(endpoint);
await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
let nextId = 1;
const pending = new Map();
const listeners = [];
socket.onmessage = (message) => {
  const data = JSON.parse(message.data);
  if (data.id && pending.has(data.id)) {
    const { resolve, reject } = pending.get(data.id);
    pending.delete(data.id);
    data.error ? reject(new Error(JSON.stringify(data.error))) : resolve(data.result);
  } else if (data.method) {
    for (const listener of [...listeners]) listener(data);
  }
};
function send(method, params = {}, sessionId) {
  const id = nextId++;
  socket.send(JSON.stringify({ id, method, params, sessionId }));
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

const { targetId } = await send("Target.createTarget", { url: "about:blank" });
const { sessionId } = await send("Target.attachToTarget", { targetId, flatten: true });
const page = (method, params) => send(method, params, sessionId);
await page("Page.enable");
await page("Runtime.enable");
await page("Log.enable");

let errors = [];
listeners.push((event) => {
  if (event.sessionId !== sessionId) return;
  if (event.method === "Runtime.exceptionThrown") errors.push(event.params.exceptionDetails.text);
  if (event.method === "Runtime.consoleAPICalled" && event.params.type === "error")
    errors.push(event.params.args.map((a) => a.value).join(" "));
  if (event.method === "Log.entryAdded" && event.params.entry.level === "error")
    errors.push(`${event.params.entry.text} ${event.params.entry.url || ""}`);
});

function loaded() {
  return new Promise((resolve) => {
    const listener = (event) => {
      if (event.sessionId === sessionId && event.method === "Page.loadEventFired") {
        listeners.splice(listeners.indexOf(listener), 1);
        resolve();
      }
    };
    listeners.push(listener);
  });
}

async function evaluate(expression) {
  const { result, exceptionDetails } = await page("Runtime.evaluate", { expression, returnByValue: true });
  if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.text}`);
  return result.value;
}

async function go(path) {
  const done = loaded();
  await page("Page.navigate", { url: path.startsWith("http") ? path : base + path });
  await done;
}

/// Runs `action` (page JS that submits a form or follows a link) and waits for the next page.
async function act(expression) {
  const done = loaded();
  await evaluate(expression);
  await done;
}

function check(name, ok, detail = "") {
  if (ok) { results.passed++; console.log(`ok - ${name}`); }
  else { results.failed++; console.log(`not ok - ${name}${detail ? `: ${detail}` : ""}`); }
}

async function viewport(width, mobile) {
  await page("Emulation.setDeviceMetricsOverride", { width, height: 900, deviceScaleFactor: 1, mobile });
}

/// The checks every page passes: it loaded, no console error, no script,
/// no horizontal overflow at 390 px; then a screenshot at laptop width.
async function everyPage(name, shot) {
  const status = await evaluate("document.querySelector('h1') ? document.querySelector('h1').textContent : ''");
  check(`${name}: has its heading`, status && status !== "Not found" && status !== "Not understood", status);
  check(`${name}: no console errors`, errors.length === 0, errors.join(" | "));
  check(`${name}: runs no script`, (await evaluate("document.scripts.length")) === 0);
  await viewport(390, true);
  const overflow = await evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth");
  check(`${name}: no horizontal overflow at 390 px`, overflow <= 0, `${overflow} px too wide`);
  await viewport(1100, false);
  if (shotsDir && shot) {
    mkdirSync(shotsDir, { recursive: true });
    const { cssContentSize } = await page("Page.getLayoutMetrics");
    const height = Math.min(Math.ceil(cssContentSize.height), 2000);
    const { data } = await page("Page.captureScreenshot", {
      format: "png", captureBeyondViewport: true, clip: { x: 0, y: 0, width: 1100, height, scale: 1 },
    });
    writeFileSync(join(shotsDir, `${shot}.png`), Buffer.from(data, "base64"));
  }
  errors = [];
}

const texts = (selector) =>
  evaluate(`[...document.querySelectorAll(${JSON.stringify(selector)})].map(e => e.textContent)`);

try {
  await viewport(1100, false);
  // The printed URL: the token goes into the cookie and out of the address.
  await go(startUrl);
  const address = await evaluate("location.href");
  check("the token leaves the address bar", !address.includes("token="), address);
  await everyPage("overview", "overview");
  const figures = await texts("#figures .card b");
  check("overview: calls counted from the daily counters", figures[0] === String(expect.calls), `${figures[0]} != ${expect.calls}`);
  check("overview: the chart and the heat map are drawn",
    (await evaluate("document.querySelectorAll('#calls-chart rect').length")) > 0 &&
    (await evaluate("document.querySelectorAll('#missed-heat-map rect').length")) === 168);
  const hot = await evaluate("[...document.querySelectorAll('#missed-heat-map rect title')].filter(t => !/ 0 missed/.test(t.textContent)).length");
  check("overview: missed calls show on the heat map", hot > 0);

  await go("/calls");
  await everyPage("calls", "calls");
  const allRows = await evaluate("document.querySelectorAll('#calls tbody tr').length");
  check("calls: every call listed", allRows === expect.calls, `${allRows} rows`);

  // Filters through the page's own form.
  await act(`document.querySelector('#outcome').value = 'missed'; document.querySelector('#call-filters').submit()`);
  const outcomes = await texts("#calls tbody tr td:last-child");
  check("calls: the outcome filter", outcomes.length === expect.missed && outcomes.every((o) => o === "missed"), outcomes.join(","));
  await everyPage("calls filtered");
  await go(`/calls?caller=${encodeURIComponent(expect.caller)}`);
  const callers = await texts("#calls tbody tr td:nth-child(3)");
  check("calls: the caller filter", callers.length === expect.caller_calls && callers.every((c) => c === expect.caller), callers.join(","));
  await go(`/calls?provider=zonitel`);
  const providers = await texts("#calls tbody tr td:nth-child(2)");
  check("calls: the provider filter", providers.length > 0 && providers.every((p) => p === "zonitel"), providers.join(","));
  await go(`/calls?outcome=incomplete`);
  check("calls: the incomplete outcome is a choice", (await evaluate("document.querySelectorAll('#outcome option[value=incomplete]').length")) === 1);

  await go(`/call/${expect.hostile_call}`);
  await everyPage("a call (hostile caller name)", "call");
  const body = await evaluate("document.querySelector('main').innerHTML");
  check("hostile text stays text", body.includes("&lt;script&gt;") && !/<script/i.test(body) &&
    (await evaluate("document.querySelectorAll('main img').length")) === 0, body.slice(0, 300));
  check("bidi overrides are shown, not obeyed", body.includes("\\u{202e}") && !body.includes("\u202e"));
  check("a call: the timeline", (await evaluate("document.querySelectorAll('#timeline tbody tr').length")) >= 1);
  check("a call: the routing decision", (await evaluate("document.querySelector('#routing') !== null")));

  await go(`/call/${expect.transcript_call}`);
  await everyPage("a call with transcript and alert", "call-transcript");
  check("a call: its alerts", (await evaluate("document.querySelectorAll('#alerts tbody tr').length")) >= 1);

  await go(`/caller/${encodeURIComponent(expect.contact)}?to=${encodeURIComponent(expect.number)}`);
  await everyPage("a caller", "caller");
  check("a caller: the contact and what the agent would get",
    (await evaluate("document.querySelector('#contact').textContent")).includes("Jane Roe") &&
    (await evaluate("document.querySelector('main').textContent")).includes("agent_vip"));

  await go("/sms");
  await everyPage("SMS", "sms");
  check("SMS: the status history", (await evaluate("document.querySelector('main').textContent")).includes("failed"));

  await go("/unrecognized");
  await everyPage("unrecognized deliveries", "unrecognized");
  await act("document.querySelector('#unrecognized tbody a').click()");
  await everyPage("an unrecognized delivery", "unrecognized-body");
  const raw = await evaluate("document.querySelector('#raw-body').textContent");
  check("an unrecognized body is shown as text", raw.includes("<script>") && raw.includes("\\u{202e}"), raw);

  await go("/alerts");
  await everyPage("alerts", "alerts");
  const failedRow = await evaluate(
    "[...document.querySelectorAll('#alerts tbody tr')].findIndex(r => r.textContent.includes('failed'))");
  check("alerts: the failed alert is listed", failedRow >= 0);
  await act(`[...document.querySelectorAll('#alerts tbody tr')][${failedRow}].querySelector('a.replay').click()`);
  await everyPage("replay confirmation", "replay");
  await act("document.querySelector('#confirm-replay').click()");
  const said = await evaluate("document.querySelector('#replay-result') ? document.querySelector('#replay-result').textContent : ''");
  check("replay: published after confirming", said.startsWith("Published again"), said);
  await everyPage("alerts after replay");

  await go("/numbers");
  await everyPage("numbers", "numbers");
  await go(`/numbers/${encodeURIComponent(expect.number)}`);
  await everyPage("a number", "number");
  await act(`document.querySelector('#document').value = '{"number": "${expect.number}", "retell": {"schedules": [{"days": ["someday"]}]}}'; document.querySelector('#save').click()`);
  check("a number: an invalid document is refused with the CLI's reason",
    (await evaluate("document.querySelector('#save-error') ? document.querySelector('#save-error').textContent : ''")).length > 0);
  await go(`/numbers/${encodeURIComponent(expect.number)}`);
  await act(`const d = JSON.parse(document.querySelector('#document').value); d.label = 'Front desk (edited)'; document.querySelector('#document').value = JSON.stringify(d); document.querySelector('#save').click()`);
  check("a number: a valid edit is saved",
    (await evaluate("document.querySelector('#saved') !== null && document.querySelector('#document').value.includes('Front desk (edited)')")));

  await go(`/contacts/${encodeURIComponent(expect.contact)}`);
  await everyPage("a contact", "contact");

  await go("/dry-run");
  await act(`document.querySelector('#from').value = '${expect.contact}'; document.querySelector('#to').value = '${expect.number}'; document.querySelector('#dry-run').submit()`);
  await everyPage("routing dry run", "dry-run");
  const verdict = await evaluate("document.querySelector('#dry-run-answer').textContent");
  check("dry run: the contact's agent and the rule that chose it", verdict.includes("agent_vip") && verdict.includes("contact"), verdict);
  await go(`/dry-run?to=${encodeURIComponent(expect.number)}&from=${encodeURIComponent(expect.caller)}&at=2026-12-07T10:00`);
  const scheduled = await evaluate("document.querySelector('#dry-run-answer').textContent");
  check("dry run: a schedule at a given time", scheduled.includes("agent_office") && scheduled.includes("schedule"), scheduled);
} catch (error) {
  check("the browser session", false, error.stack || String(error));
}
console.log(`${results.passed} passed, ${results.failed} failed`);
finish(results.failed === 0 ? 0 : 1);
