// Talking to the service. The access token lives in this module's memory only; the refresh
// token is an HttpOnly cookie this code never sees, sent by the browser to /auth alone. Its
// partner, a CSRF token in a readable cookie, goes back in the X-CSRF-Token header
// (double submit), so another site cannot make the browser refresh or sign out.

const CSRF_COOKIE = "mc_csrf";
const COOKIE_SESSION = { "X-Session": "cookie" };

let accessToken = null;
let refreshing = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, detail, retryAfter) {
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

export const isSignedIn = () => accessToken !== null;
export const onSignOut = (listener) => listeners.add(listener);

function csrfToken() {
  const cookie = document.cookie.split("; ").find((part) => part.startsWith(`${CSRF_COOKIE}=`));
  return cookie ? decodeURIComponent(cookie.slice(CSRF_COOKIE.length + 1)) : "";
}

async function failure(response) {
  let detail = response.statusText;
  try {
    detail = (await response.json()).detail ?? detail;
  } catch {
    // not JSON: keep the status text
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, detail, retryAfter);
}

async function send(path, { method = "GET", body, csv, headers = {} } = {}) {
  const options = { method, headers: { ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (csv !== undefined) {
    options.headers["Content-Type"] = "text/csv";
    options.body = csv; // a File or a string, sent as it is
  }
  if (accessToken) options.headers.Authorization = `Bearer ${accessToken}`;
  return fetch(path, options);
}

function forget() {
  const wasSignedIn = accessToken !== null;
  accessToken = null;
  if (wasSignedIn) listeners.forEach((listener) => listener());
}

/** A new access token from the refresh cookie; concurrent callers share one request. */
export function refresh() {
  refreshing ||= (async () => {
    const response = await fetch("/auth/refresh", {
      method: "POST",
      headers: { ...COOKIE_SESSION, "X-CSRF-Token": csrfToken() },
      credentials: "same-origin",
    });
    if (!response.ok) {
      forget();
      throw await failure(response);
    }
    accessToken = (await response.json()).access_token;
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Sign in again silently after a reload, when the refresh cookie is still good. */
export async function resume() {
  if (!csrfToken()) return false;
  try {
    await refresh();
    return true;
  } catch {
    return false;
  }
}

/** The response of a JWT call; one silent refresh when the access token has expired. */
export async function call(path, options = {}) {
  let response = await send(path, options);
  if (response.status === 401 && accessToken) {
    try {
      await refresh();
    } catch {
      throw await failure(response);
    }
    response = await send(path, options);
  }
  if (!response.ok) throw await failure(response);
  return response;
}

export const getJson = async (path) => (await call(path)).json();
export const postJson = async (path, body) => (await call(path, { method: "POST", body })).json();
export const remove = async (path) => call(path, { method: "DELETE" });
/** POST a CSV file (or text) as the body, the way the datasets route reads it. */
export const postCsv = async (path, csv) => (await call(path, { method: "POST", csv })).json();

export async function signIn(email, password) {
  const response = await fetch("/auth/login", {
    method: "POST",
    headers: { ...COOKIE_SESSION, "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) throw await failure(response);
  const answer = await response.json();
  if (answer.two_factor_required) return answer.challenge_token; // a code is needed next
  accessToken = answer.access_token;
  return null;
}

/** The second step of a two-factor sign-in: the challenge of signIn and a code. */
export async function signInWithCode(challengeToken, code) {
  const response = await fetch("/auth/login/2fa", {
    method: "POST",
    headers: { ...COOKIE_SESSION, "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ challenge_token: challengeToken, code }),
  });
  if (!response.ok) throw await failure(response);
  accessToken = (await response.json()).access_token;
}

export async function signUp(account) {
  const response = await fetch("/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(account),
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export async function signOut() {
  try {
    await send("/auth/logout", { method: "POST", headers: { ...COOKIE_SESSION, "X-CSRF-Token": csrfToken() } });
  } finally {
    forget();
  }
}

/** An image the API draws (it needs the Authorization header, so no plain <img src>). */
export async function imageUrl(path) {
  const blob = await (await call(path)).blob();
  return URL.createObjectURL(blob);
}
