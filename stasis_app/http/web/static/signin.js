// Sign-in: the token goes in a POST body (never a URL); the answer sets the session cookie.
import { say } from "./api.js";

const form = document.getElementById("signin");
const status = document.getElementById("status");

if (new URLSearchParams(window.location.search).has("failed")) {
  say(status, "That token is not right.", "error");
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = form.elements.token.value;
  say(status, "Signing in…");
  const response = await fetch("/session", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ token }),
  }).catch(() => null);
  if (response && response.status === 204) {
    window.location.assign("/console/");
  } else if (response && response.status === 401) {
    say(status, "That token is not right.", "error");
    form.elements.token.select();
  } else {
    say(status, "The worker did not answer; is cti running?", "error");
  }
});
