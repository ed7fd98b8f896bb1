// Sign in and sign up, with the service's own words for what went wrong.

import * as api from "../api.js";
import { el, errorBox, field, show, status } from "../dom.js";
import { explain } from "../format.js";

let createdEmail = null; // the account just created, to sign in with

const PASSWORD_RULES = "At least 8 characters, with an upper-case letter, a lower-case letter and a digit.";

function emailInput() {
  return el("input", { type: "email", name: "email", autocomplete: "email", required: true });
}

function explainSignIn(error) {
  if (error.status === 423) return `${explain(error)} The account is locked after too many failed sign-ins.`;
  if (error.status === 429) return `Too many attempts from this address. ${explain(error)}`;
  return explain(error);
}

export function signInPage(main, { go }) {
  const email = emailInput();
  const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const problem = errorBox();
  const submit = el("button", { type: "submit" }, "Sign in");
  const notice = el("p", { class: "notice", role: "status" });
  if (createdEmail) {
    notice.textContent = "Account created. Sign in with your new password.";
    email.value = createdEmail;
    createdEmail = null;
  }
  const form = el(
    "form",
    { class: "card", "aria-label": "Sign in" },
    notice,
    field("Email", email),
    field("Password", password),
    problem,
    el("div", { class: "actions" }, submit, el("a", { href: "#/signup" }, "Create an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.disabled = true;
    try {
      const challenge = await api.signIn(email.value, password.value);
      if (challenge) return codeStep(main, { go }, challenge);
      status("Signed in");
      go("#/run");
    } catch (error) {
      problem.textContent = explainSignIn(error);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });
  show(main, "Sign in", form);
  (email.value ? password : email).focus();
}

/** Two-factor accounts: the code from the authenticator app (or a backup code). */
function codeStep(main, { go }, challenge) {
  const code = el("input", { name: "code", autocomplete: "one-time-code", inputMode: "numeric", required: true });
  const problem = errorBox();
  const submit = el("button", { type: "submit" }, "Verify");
  const form = el(
    "form",
    { class: "card", "aria-label": "Second step of signing in" },
    field("Two-factor code", code, "The 6 digits your authenticator app shows, or one of your backup codes."),
    problem,
    el("div", { class: "actions" }, submit, el("a", { href: "#/signin" }, "Start again")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.disabled = true;
    try {
      await api.signInWithCode(challenge, code.value.trim());
      status("Signed in");
      go("#/run");
    } catch (error) {
      problem.textContent = explainSignIn(error);
      code.select();
    } finally {
      submit.disabled = false;
    }
  });
  show(main, "Two-factor code", form);
  code.focus();
}

export function signUpPage(main, { go }) {
  const email = emailInput();
  const password = el("input", { type: "password", name: "password", autocomplete: "new-password", required: true });
  const fullName = el("input", { name: "full_name", autocomplete: "name", maxLength: 200 });
  const company = el("input", { name: "company", autocomplete: "organization", maxLength: 200 });
  const problem = errorBox();
  const submit = el("button", { type: "submit" }, "Create account");
  const form = el(
    "form",
    { class: "card", "aria-label": "Create an account" },
    field("Email", email),
    field("Password", password, PASSWORD_RULES),
    field("Full name (optional)", fullName),
    field("Company (optional)", company),
    problem,
    el("div", { class: "actions" }, submit, el("a", { href: "#/signin" }, "I have an account")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.disabled = true;
    try {
      await api.signUp({
        email: email.value,
        password: password.value,
        full_name: fullName.value || null,
        company: company.value || null,
      });
      createdEmail = email.value;
      go("#/signin");
    } catch (error) {
      problem.textContent = error.status === 409 ? "This email already has an account: sign in instead." : explain(error);
    } finally {
      submit.disabled = false;
    }
  });
  show(main, "Create an account", form);
  email.focus();
}
