// The agent desktop for one extension: a screen pop when its phone rings (who, through which
// IVR path and queue, and that number's earlier calls), the call it is on with hold, transfer
// and hang-up, click-to-dial, and its queue state. Like the wallboard, the event stream (only
// this extension's calls) triggers reads of the REST API, which holds the truth.
import { api, coalesce, duration, el, events, header, say } from "./api.js";

const main = document.getElementById("main");
document.getElementById("header").replaceWith(header("/console/agent"));
const EXTENSION = /^[0-9]{2,10}$/;

const status = el("p", { id: "status", class: "status", role: "status", "aria-live": "polite" });
const live = el("span", { class: "live-dot" }, "");
const chooser = el(
  "form",
  { class: "inline", id: "choose" },
  el("label", { for: "extension" }, "My extension", el("input", { id: "extension", name: "extension", inputmode: "numeric", pattern: "[0-9]{2,10}", required: true, value: localStorage.getItem("cti.extension") || "" })),
  el("button", { type: "submit" }, "Use"),
);
const pop = el("section", { class: "panel pop", id: "pop", hidden: true, "aria-live": "assertive", "aria-labelledby": "pop-title" });
const callBox = el("section", { class: "panel", id: "call", "aria-labelledby": "call-title" });
const dialForm = el(
  "form",
  { class: "inline", id: "dial" },
  el("label", { for: "dial-to" }, "Number", el("input", { id: "dial-to", name: "to", inputmode: "numeric", pattern: "[0-9]{2,10}", required: true })),
  el("button", { type: "submit" }, "Call"),
);
const agentBox = el("section", { class: "panel", id: "agent", "aria-labelledby": "agent-title" });

main.append(
  el("section", { class: "panel" }, el("div", { class: "panel-head" }, el("h1", {}, "Agent desktop"), live), chooser, status),
  pop,
  callBox,
  el("section", { class: "panel", "aria-labelledby": "dial-title" }, el("h2", { id: "dial-title" }, "Click to dial"), el("p", {}, "Your phone rings first; when you answer, the number is called."), dialForm),
  agentBox,
);

let me = null;
let stream = null;

async function act(what, fn) {
  try {
    await fn();
    say(status, what, "ok");
  } catch (error) {
    say(status, `${what} failed: ${error.message}`, "error");
  }
  refresh();
}

function myCall(calls) {
  for (const call of calls) {
    const mine = call.parties.find((p) => p.extension === me);
    if (mine) {
      return { call, mine, other: call.parties.find((p) => p !== mine && p.role !== "target") };
    }
  }
  return null;
}

// The panels are rebuilt only when what they offer changes (another call, another state): a
// rebuild would wipe what the agent is typing (a transfer target, a pause reason).
let callShape = null;
let agentShape = null;

function renderCall(found) {
  const shape = found
    ? JSON.stringify([found.call.id, found.mine.state, found.call.stage, found.other && found.other.extension, found.call.transfer && [found.call.transfer.id, found.call.transfer.state]])
    : "none";
  if (shape === callShape) {
    const line = callBox.querySelector('[data-field="call-state"]');
    if (line && found) {
      line.textContent = `${found.mine.state} (${found.call.stage}), ${duration(found.call.duration)}`;
    }
    return;
  }
  callShape = shape;
  const title = el("h2", { id: "call-title" }, "My call");
  if (!found) {
    callBox.replaceChildren(title, el("p", { class: "empty" }, "No call"));
    return;
  }
  const { call, mine, other } = found;
  const talking = mine.state === "talking";
  const holding = mine.state === "holding" && !call.transfer;
  const target = el("input", { id: "transfer-to", name: "to", inputmode: "numeric", pattern: "[0-9]{2,10}" });
  const wanted = () => {
    if (!EXTENSION.test(target.value)) {
      throw new Error("enter the extension to transfer to");
    }
    return target.value;
  };
  const buttons = [
    el("button", { type: "button", class: "danger", onclick: () => act("Hang up", () => api("DELETE", `/channels/${encodeURIComponent(mine.channel_id)}`)) }, "Hang up"),
  ];
  if (talking) {
    buttons.push(el("button", { type: "button", onclick: () => act("Hold", () => api("POST", `/channels/${encodeURIComponent(mine.channel_id)}/hold`)) }, "Hold"));
  }
  if (holding) {
    buttons.push(el("button", { type: "button", onclick: () => act("Unhold", () => api("DELETE", `/channels/${encodeURIComponent(mine.channel_id)}/hold`)) }, "Unhold"));
  }
  const transferRow = [];
  if (other && (talking || holding) && !call.transfer) {
    transferRow.push(
      el("label", { for: "transfer-to" }, "Transfer to extension", target),
      el("button", { type: "button", onclick: () => act("Blind transfer", () => api("POST", "/transfers", { call: other.channel_id, to: wanted(), mode: "blind" })) }, "Transfer"),
      el("button", { type: "button", onclick: () => act("Consult", () => api("POST", "/transfers", { call: other.channel_id, to: wanted(), mode: "attended" })) }, "Consult first"),
    );
  }
  if (call.transfer) {
    transferRow.push(
      el("span", {}, `Transfer to ${call.transfer.extension}: ${call.transfer.state}`),
      el("button", { type: "button", disabled: call.transfer.state !== "answered", onclick: () => act("Complete transfer", () => api("POST", `/transfers/${encodeURIComponent(call.transfer.id)}/complete`)) }, "Complete"),
      el("button", { type: "button", class: "quiet", onclick: () => act("Cancel transfer", () => api("DELETE", `/transfers/${encodeURIComponent(call.transfer.id)}`)) }, "Cancel"),
    );
  }
  callBox.replaceChildren(
    title,
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "Caller"), el("dd", { "data-field": "caller" }, `${call.caller_number} ${call.caller_name}`.trim()),
      el("dt", {}, "With"), el("dd", {}, other ? other.extension : "nobody yet"),
      el("dt", {}, "State"), el("dd", { "data-field": "call-state" }, `${mine.state} (${call.stage}), ${duration(call.duration)}`),
    ),
    el("div", { class: "row" }, buttons),
    transferRow.length ? el("div", { class: "row" }, transferRow) : null,
  );
}

function agentLine(agent) {
  return [
    el("span", { class: `badge state-${agent.state}` }, agent.state),
    ` for ${duration(agent.seconds_in_state)}`,
    agent.pause_reason ? ` (${agent.pause_reason})` : "",
    agent.queues.length ? ` in ${agent.queues.join(", ")}` : "",
  ];
}

function renderAgent(agent) {
  const shape = agent ? JSON.stringify([me, agent.state, agent.pause_reason, agent.queues]) : `none:${me}`;
  if (shape === agentShape) {
    const line = agentBox.querySelector('[data-field="agent-state"]');
    if (line && agent) {
      line.replaceChildren(...agentLine(agent));
    }
    return;
  }
  agentShape = shape;
  const title = el("h2", { id: "agent-title" }, "Queues");
  if (!agent) {
    agentBox.replaceChildren(title, el("p", { class: "empty" }, `${me} is in no queue`));
    return;
  }
  const ext = encodeURIComponent(me);
  const reason = el("input", { id: "pause-reason", name: "reason", "aria-label": "Pause reason", placeholder: "reason (optional)" });
  const buttons = [
    el("button", { type: "button", onclick: () => act("Log in", () => api("POST", `/agents/${ext}/login`)) }, "Log in"),
    el("button", { type: "button", class: "quiet", onclick: () => act("Log out", () => api("POST", `/agents/${ext}/logout`)) }, "Log out"),
  ];
  if (agent.state === "paused") {
    buttons.push(el("button", { type: "button", onclick: () => act("Unpause", () => api("DELETE", `/agents/${ext}/pause`)) }, "Unpause"));
  } else if (agent.state !== "logged-out") {
    buttons.push(reason, el("button", { type: "button", onclick: () => act("Pause", () => api("POST", `/agents/${ext}/pause`, reason.value ? { reason: reason.value } : {})) }, "Pause"));
  }
  agentBox.replaceChildren(
    title,
    el("p", { "data-field": "agent-state" }, ...agentLine(agent)),
    el("div", { class: "row" }, buttons),
  );
}

async function showPop(item) {
  const [liveCalls, history] = await Promise.all([
    api("GET", "/calls/live").catch(() => ({ calls: [] })),
    item.caller_number ? api("GET", `/calls?caller=${encodeURIComponent(item.caller_number)}&limit=6`).catch(() => ({ calls: [] })) : { calls: [] },
  ]);
  const call = liveCalls.calls.find((c) => c.id === item.call_id);
  const earlier = history.calls.filter((c) => c.call_id !== item.call_id).slice(0, 5);
  pop.replaceChildren(
    el("h2", { id: "pop-title" }, "Incoming call"),
    el(
      "dl",
      {},
      el("dt", {}, "Caller"), el("dd", { "data-field": "pop-caller" }, item.caller_number || "unknown"),
      el("dt", {}, "Name"), el("dd", {}, item.caller_name || "–"),
      el("dt", {}, "IVR path"), el("dd", {}, call && call.ivr_path.length ? call.ivr_path.join(" › ") : "–"),
      el("dt", {}, "Queue"), el("dd", {}, item.queue || (call && call.queue) || "–"),
    ),
    el("h3", {}, "Earlier calls from this number"),
    earlier.length
      ? el("ul", {}, earlier.map((c) => el("li", {}, `${new Date(c.started * 1000).toLocaleString()}: ${c.disposition || "in progress"}${c.callee ? ` with ${c.callee}` : ""}`)))
      : el("p", { class: "empty" }, "None"),
  );
  pop.hidden = false;
}

async function refresh() {
  if (!me) {
    return;
  }
  const [liveCalls, agents] = await Promise.all([
    api("GET", "/calls/live"),
    api("GET", "/agents").catch(() => ({ agents: [] })),
  ]);
  const found = myCall(liveCalls.calls);
  renderCall(found);
  if (!found) {
    pop.hidden = true;
  }
  renderAgent(agents.agents.find((a) => a.extension === me));
}

const refreshSoon = coalesce(() => refresh().catch((error) => say(status, error.message, "error")), 150);

function use(extension) {
  me = extension;
  localStorage.setItem("cti.extension", extension);
  if (stream) {
    stream.close();
  }
  stream = events(
    (item) => {
      if ((item.type === "ringing" || item.type === "agent-offered") && item.extension === me) {
        showPop(item);
      }
      refreshSoon();
    },
    (state) => say(live, state === "live" ? `live: ${me}` : "reconnecting…", state),
    extension,
  );
  refreshSoon();
}

chooser.addEventListener("submit", (event) => {
  event.preventDefault();
  const value = chooser.elements.extension.value.trim();
  if (!EXTENSION.test(value)) {
    say(status, "An extension is 2 to 10 digits", "error");
    return;
  }
  use(value);
});

dialForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!me) {
    say(status, "Choose your extension first", "error");
    return;
  }
  const to = dialForm.elements.to.value.trim();
  act(`Calling ${to}`, () => api("POST", "/calls", { from_extension: me, to_extension: to }));
});

renderCall(null);
agentBox.replaceChildren(el("h2", { id: "agent-title" }, "Queues"));
if (EXTENSION.test(chooser.elements.extension.value)) {
  use(chooser.elements.extension.value);
}
main.setAttribute("aria-busy", "false");
setInterval(refreshSoon, 2000); // durations and time in state
