// The wallboard: live calls, queues and phones. The event stream says *that* something changed;
// the REST API says *what* is true now, so a missed or reordered event can never leave the board
// wrong for longer than the next one. Phones' registrations have no event: read every second.
import { api, coalesce, duration, el, events, header, say } from "./api.js";

const main = document.getElementById("main");
document.getElementById("header").replaceWith(header("/console/"));

const live = el("span", { class: "live-dot", role: "status", "aria-live": "polite" }, "connecting");
const problem = el("p", { class: "status", role: "alert" });
const callsBody = el("tbody", { id: "calls" });
const queuesBox = el("div", { id: "queues", class: "grid" });
const endpointsBody = el("tbody", { id: "endpoints" });

main.append(
  el(
    "section",
    { class: "panel", "aria-labelledby": "calls-title" },
    el("div", { class: "panel-head" }, el("h1", { id: "calls-title" }, "Live calls"), live),
    problem,
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ["Caller", "Dialed", "State", "Duration", "IVR path", "Connected to", "Queue"].map((h) =>
            el("th", { scope: "col", class: h === "Duration" ? "num" : null }, h),
          ),
        ),
      ),
      callsBody,
    ),
  ),
  el("section", { class: "panel", "aria-labelledby": "queues-title" }, el("h2", { id: "queues-title" }, "Queues"), queuesBox),
  el(
    "section",
    { class: "panel", "aria-labelledby": "endpoints-title" },
    el("h2", { id: "endpoints-title" }, "Phones"),
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Extension", "Registration", "Calls"].map((h) => el("th", { scope: "col" }, h)))),
      endpointsBody,
    ),
  ),
);

let calls = [];
let fetchedAt = performance.now();

function badge(state) {
  return el("span", { class: `badge state-${state}` }, state);
}

function connectedTo(call) {
  const others = call.parties.filter((p) => p.role !== "caller" && p.state !== "ringing");
  if (others.length) {
    return others.map((p) => p.extension).join(", ");
  }
  const ringing = call.parties.filter((p) => p.state === "ringing").map((p) => p.extension);
  return ringing.length ? `ringing ${ringing.join(", ")}` : "";
}

function renderCalls() {
  const elapsed = (performance.now() - fetchedAt) / 1000;
  if (!calls.length) {
    callsBody.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No calls right now")));
    return;
  }
  callsBody.replaceChildren(
    ...calls.map((call) =>
      el(
        "tr",
        { "data-call": call.id, "data-caller": call.caller_number },
        el("td", {}, el("b", {}, call.caller_number || "unknown"), call.caller_name ? ` ${call.caller_name}` : ""),
        el("td", {}, call.dialed),
        el("td", {}, badge(call.stage)),
        el("td", { class: "num" }, duration(call.duration + elapsed)),
        el("td", {}, call.ivr_path.join(" › ")),
        el("td", {}, connectedTo(call)),
        el("td", {}, call.queue || ""),
      ),
    ),
  );
}

let queues = [];

// Seconds since an ISO time from the API (the worker's clock; the pages assume the two agree to
// well under a second, as on one machine or NTP-synchronised ones).
function since(iso) {
  return Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
}

function renderQueues() {
  if (!queues.length) {
    queuesBox.replaceChildren(el("p", { class: "empty" }, "No queues are configured"));
    return;
  }
  queuesBox.replaceChildren(
    ...queues.map((q) => {
      const longest = q.waiting.length ? Math.max(...q.waiting.map((w) => since(w.joined))) : 0;
      const sl = q.today.service_level_pct;
      return el(
        "article",
        { "data-queue": q.name, "aria-label": `Queue ${q.name}` },
        el("h3", {}, q.name),
        el(
          "div",
          { class: "stats" },
          el("div", { class: "stat" }, el("b", { "data-stat": "waiting" }, q.waiting.length), el("span", {}, "waiting")),
          el("div", { class: "stat" }, el("b", {}, duration(longest)), el("span", {}, "longest wait")),
          el("div", { class: "stat" }, el("b", {}, sl === null ? "–" : `${Math.round(sl)} %`), el("span", {}, `service level (${q.today.service_level_threshold} s)`)),
          el("div", { class: "stat" }, el("b", {}, `${q.today.answered}/${q.today.offered}`), el("span", {}, "answered today")),
        ),
        el(
          "table",
          {},
          el("thead", {}, el("tr", {}, ["Agent", "State", "In state"].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            q.agents.map((a) =>
              el(
                "tr",
                { "data-agent": a.extension },
                el("td", {}, a.extension, a.reachable ? "" : " (unreachable)"),
                el("td", {}, badge(a.state), a.pause_reason ? ` ${a.pause_reason}` : ""),
                el("td", { class: "num" }, duration(since(a.since))),
              ),
            ),
          ),
        ),
      );
    }),
  );
}

function renderEndpoints(endpoints) {
  endpointsBody.replaceChildren(
    ...endpoints.map((e) =>
      el(
        "tr",
        { "data-endpoint": e.resource },
        el("td", {}, e.resource),
        el("td", {}, badge(e.state)),
        el("td", { class: "num" }, e.channel_ids.length),
      ),
    ),
  );
}

async function loadCalls() {
  try {
    const body = await api("GET", "/calls/live");
    calls = body.calls;
    fetchedAt = performance.now();
    renderCalls();
    say(problem, "");
  } catch (error) {
    say(problem, `Live calls: ${error.message}`, "error");
  }
}

async function loadQueues() {
  try {
    queues = (await api("GET", "/queues")).queues;
    renderQueues();
  } catch (error) {
    say(problem, `Queues: ${error.message}`, "error");
  }
}

async function loadEndpoints() {
  try {
    renderEndpoints((await api("GET", "/endpoints")).endpoints);
  } catch (error) {
    say(problem, `Phones: ${error.message}`, "error");
  }
}

const refreshCalls = coalesce(loadCalls, 150);
const refreshQueues = coalesce(loadQueues, 250);

events(
  (item) => {
    if (item.type === "agent-state") {
      refreshQueues();
      return;
    }
    refreshCalls();
    // "missed": the stream lost events while this page was away; read everything again.
    if (item.queue || item.type === "ended" || item.type === "missed") {
      refreshQueues();
    }
  },
  (state) => {
    say(live, state === "live" ? "live" : "reconnecting…", state);
    if (state === "live") {
      refreshCalls(); // whatever happened while the stream was down
      refreshQueues();
    }
  },
);

await Promise.all([loadCalls(), loadQueues(), loadEndpoints()]);
main.setAttribute("aria-busy", "false");
setInterval(() => {
  renderCalls(); // durations, waits and time in state tick between events
  renderQueues();
}, 1000);
setInterval(loadEndpoints, 1000);
setInterval(loadQueues, 5000); // waiting times and agents' time in state
