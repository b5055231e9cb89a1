// Call history: the list with filters (time, caller, disposition) and one call's timeline.
import { api, duration, el, header, say } from "./api.js";

const main = document.getElementById("main");
document.getElementById("header").replaceWith(header("/console/history"));

const DISPOSITIONS = ["", "answered", "busy", "no-answer", "unavailable", "unknown-extension", "abandoned", "ivr-hangup", "echo", "failed", "worker-stopped", "in-progress"];
const status = el("p", { id: "status", class: "status", role: "status", "aria-live": "polite" });
const form = el(
  "form",
  { class: "inline", id: "filters" },
  el("label", { for: "since" }, "From", el("input", { id: "since", name: "since", type: "datetime-local" })),
  el("label", { for: "until" }, "To", el("input", { id: "until", name: "until", type: "datetime-local" })),
  el("label", { for: "caller" }, "Caller", el("input", { id: "caller", name: "caller", inputmode: "tel" })),
  el("label", { for: "disposition" }, "Disposition", el("select", { id: "disposition", name: "disposition" }, DISPOSITIONS.map((d) => el("option", { value: d }, d || "any")))),
  el("button", { type: "submit" }, "Show"),
);
const rows = el("tbody", { id: "history" });
const detail = el("section", { class: "panel", id: "detail", hidden: true, "aria-labelledby": "detail-title" });

main.append(
  el(
    "section",
    { class: "panel", "aria-labelledby": "history-title" },
    el("h1", { id: "history-title" }, "Call history"),
    form,
    status,
    el(
      "table",
      {},
      el("thead", {}, el("tr", {}, ["Started", "Caller", "Dialed", "Callee", "Disposition", "Duration", "IVR path", ""].map((h) => el("th", { scope: "col" }, h)))),
      rows,
    ),
  ),
  detail,
);

function when(epoch) {
  return new Date(epoch * 1000).toLocaleString();
}

async function showCall(callId) {
  try {
    const body = await api("GET", `/calls/${encodeURIComponent(callId)}`);
    const start = body.summary.started;
    detail.replaceChildren(
      el("h2", { id: "detail-title", tabindex: "-1" }, `Call ${callId}`),
      el(
        "ol",
        { class: "timeline" },
        body.events.map((e) => el("li", {}, `+${(e.at - start).toFixed(2)} s  ${e.action}`)),
      ),
    );
    detail.hidden = false;
    detail.querySelector("h2").focus();
  } catch (error) {
    say(status, `Call ${callId}: ${error.message}`, "error");
  }
}

async function search() {
  const query = new URLSearchParams({ limit: "100" });
  for (const name of ["since", "until"]) {
    const value = form.elements[name].value;
    if (value) {
      query.set(name, String(new Date(value).getTime() / 1000));
    }
  }
  const caller = form.elements.caller.value.trim();
  if (caller) {
    query.set("caller", caller);
  }
  if (form.elements.disposition.value) {
    query.set("disposition", form.elements.disposition.value);
  }
  try {
    const body = await api("GET", `/calls?${query}`);
    say(status, `${body.calls.length} call(s)`);
    rows.replaceChildren(
      ...body.calls.map((c) =>
        el(
          "tr",
          { "data-call": c.call_id },
          el("td", {}, when(c.started)),
          el("td", {}, c.caller || ""),
          el("td", {}, c.dialed || ""),
          el("td", {}, c.callee || ""),
          el("td", {}, c.disposition || "in progress"),
          el("td", { class: "num" }, c.duration === null ? "" : duration(c.duration)),
          el("td", {}, c.ivr_path.join(" › ")),
          el("td", {}, el("button", { type: "button", class: "quiet", onclick: () => showCall(c.call_id), "aria-label": `Timeline of the call from ${c.caller || "unknown"} at ${when(c.started)}` }, "Timeline")),
        ),
      ),
    );
  } catch (error) {
    say(status, error.message, "error");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  search();
});
await search();
main.setAttribute("aria-busy", "false");
