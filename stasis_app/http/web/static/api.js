// The console's one way to the worker: the REST API with the session cookie, and the live
// event stream. A change carries the session's CSRF token (fetched once from GET /session);
// an answer of 401 means the session ended, so the page goes back to the sign-in page.

let csrf = null;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function csrfToken() {
  if (csrf === null) {
    const session = await api("GET", "/session");
    csrf = session.csrf;
  }
  return csrf;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = await csrfToken();
  }
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign("/");
    throw new ApiError(401, "unauthorized", "signed out");
  }
  if (response.status === 204) {
    return null;
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

// Calls onItem(item) for every screen pop (optionally only for one extension's calls) and
// onState("live" | "reconnecting") as the stream comes and goes; EventSource reconnects itself.
export function events(onItem, onState, extension) {
  const query = extension ? `?extension=${encodeURIComponent(extension)}` : "";
  const source = new EventSource(`/events/sse${query}`, { withCredentials: true });
  source.onopen = () => onState("live");
  source.onerror = () => onState("reconnecting");
  source.onmessage = (message) => {
    try {
      onItem(JSON.parse(message.data));
    } catch (error) {
      console.error("bad event", error);
    }
  };
  return source;
}

// Runs fn at most once per `ms`, and always once more after the last call (a burst of events
// becomes one refresh, never a lost one).
export function coalesce(fn, ms) {
  let timer = null;
  let again = false;
  return () => {
    if (timer !== null) {
      again = true;
      return;
    }
    fn();
    timer = setTimeout(function done() {
      timer = null;
      if (again) {
        again = false;
        fn();
        timer = setTimeout(done, ms);
      }
    }, ms);
  };
}

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "class") {
      node.className = value;
    } else if (name.startsWith("on")) {
      node.addEventListener(name.slice(2), value);
    } else if (value !== null && value !== undefined && value !== false) {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function say(where, text, kind = "info") {
  where.textContent = text;
  where.dataset.kind = kind;
}

// The header every page shares: where you are, the others, and signing out.
export function header(current) {
  const links = [
    ["/console/", "Wallboard"],
    ["/console/agent", "Agent desktop"],
    ["/console/history", "History"],
    ["/docs", "API docs"],
  ];
  const signOut = el(
    "button",
    {
      type: "button",
      class: "quiet",
      onclick: async () => {
        await api("DELETE", "/session").catch(() => null);
        window.location.assign("/");
      },
    },
    "Sign out",
  );
  const nav = el(
    "nav",
    { "aria-label": "Console" },
    el(
      "ul",
      {},
      links.map(([href, label]) =>
        el("li", {}, el("a", { href, "aria-current": href === current ? "page" : null }, label)),
      ),
    ),
  );
  return el("header", { class: "top" }, el("span", { class: "brand" }, "cti"), nav, signOut);
}
