// The dashboard: one page per location hash (#/run, #/keys, ...), nothing rendered by the server.

import * as api from "./api.js";
import { status } from "./dom.js";
import { signInPage, signUpPage } from "./pages/account.js";
import { datasetsPage } from "./pages/datasets.js";
import { jobsPage } from "./pages/jobs.js";
import { keysPage } from "./pages/keys.js";
import { resultPage } from "./pages/result.js";
import { runPage } from "./pages/run.js";
import { savedPage } from "./pages/saved.js";
import { securityPage } from "./pages/security.js";
import { usagePage } from "./pages/usage.js";

const PUBLIC = { signin: signInPage, signup: signUpPage };
const PRIVATE = {
  run: runPage,
  datasets: datasetsPage,
  jobs: jobsPage,
  keys: keysPage,
  result: resultPage,
  simulations: savedPage,
  usage: usagePage,
  security: securityPage,
};

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let resumed = null;

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  resumed ||= api.resume();
  await resumed;
  const [name = "run", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const signedIn = api.isSignedIn();
  nav.hidden = !signedIn;
  for (const link of nav.querySelectorAll("a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${name}`);
    if (link.hasAttribute("aria-current")) link.setAttribute("aria-current", "page");
  }
  if (PUBLIC[name]) return PUBLIC[name](main, { go });
  if (!signedIn) return go("#/signin");
  const page = PRIVATE[name];
  if (!page) return go("#/run");
  return page(main, { go, params: rest });
}

api.onSignOut(() => {
  status("Signed out");
  go("#/signin");
});

document.getElementById("sign-out").addEventListener("click", async () => {
  await api.signOut();
});

window.addEventListener("hashchange", route);
route();
