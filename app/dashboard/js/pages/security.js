// Security: signed-in devices (end any other), password change, two-factor authentication.

import * as api from "../api.js";
import { el, errorBox, field, show, status, table } from "../dom.js";
import { explain, when } from "../format.js";

const PASSWORD_RULES = "At least 8 characters, with an upper-case letter, a lower-case letter and a digit.";

function section(id, title, ...content) {
  return el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...content);
}

/** A form whose submit runs `action`; its problems are shown in words, in the form. */
function actionForm(label, controls, buttonText, action) {
  const problem = errorBox();
  const submit = el("button", { type: "submit" }, buttonText);
  const form = el("form", { class: "card", "aria-label": label }, controls, problem, el("div", { class: "actions" }, submit));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    submit.disabled = true;
    try {
      await action();
    } catch (error) {
      problem.textContent = explain(error);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function devices(container) {
  const sessions = await api.getJson("/auth/sessions");
  const rows = sessions.map((session) => {
    let action = el("span", {}, "This device");
    if (!session.current) {
      action = el("button", { type: "button", class: "danger" }, "Sign out");
      action.addEventListener("click", async () => {
        await api.remove(`/auth/sessions/${session.id}`);
        status("That device is signed out");
        await devices(container);
      });
    }
    return el(
      "tr",
      {},
      el("td", {}, session.user_agent || "unknown"),
      el("td", {}, session.ip || "unknown"),
      el("td", {}, when(session.created_at)),
      el("td", {}, when(session.last_used_at)),
      el("td", {}, action),
    );
  });
  container.replaceChildren(
    table("Signed-in devices", ["Device", "Address", "Signed in", "Last used", ""], rows),
  );
}

function passwordForm(onChanged) {
  const current = el("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const next = el("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true });
  return actionForm(
    "Change your password",
    [field("Current password", current), field("New password", next, PASSWORD_RULES)],
    "Change password",
    async () => {
      const answer = await api.postJson("/auth/password", { current_password: current.value, new_password: next.value });
      current.value = next.value = "";
      status(`Password changed; ${answer.other_sessions_revoked} other device(s) signed out`);
      await onChanged();
    },
  );
}

function qrImage(svg) {
  const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
  return el("img", { src: url, alt: "QR code of the secret, for your authenticator app", width: 200, height: 200 });
}

async function twoFactor(container) {
  const state = await api.getJson("/auth/2fa");
  if (state.enabled) {
    const password = el("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
    const code = el("input", { name: "code", autocomplete: "one-time-code", required: true });
    container.replaceChildren(
      el("p", {}, `Two-factor authentication is on. ${state.backup_codes_left} backup codes left.`),
      actionForm(
        "Turn two-factor authentication off",
        [field("Password", password), field("Code", code, "From your authenticator app, or a backup code.")],
        "Turn off",
        async () => {
          await api.postJson("/auth/2fa/disable", { password: password.value, code: code.value.trim() });
          status("Two-factor authentication is off");
          await twoFactor(container);
        },
      ),
    );
    return;
  }
  const start = el("button", { type: "button" }, "Set up two-factor authentication");
  start.addEventListener("click", async () => {
    const setup = await api.postJson("/auth/2fa/setup");
    const code = el("input", { name: "code", autocomplete: "one-time-code", inputMode: "numeric", required: true });
    container.replaceChildren(
      el("p", {}, "Scan this code with an authenticator app, or type the secret into it, then enter the code it shows."),
      qrImage(setup.qr_svg),
      el("p", {}, "Secret: ", el("code", { id: "totp-secret" }, setup.secret)),
      actionForm("Turn two-factor authentication on", [field("Code from the app", code)], "Turn on", async () => {
        const answer = await api.postJson("/auth/2fa/enable", { code: code.value.trim() });
        container.replaceChildren(
          el("p", {}, answer.message),
          el("ol", { id: "backup-codes" }, answer.backup_codes.map((backup) => el("li", {}, el("code", {}, backup)))),
          el("p", {}, "Each code signs you in once if you lose your phone. They are not shown again."),
        );
        status("Two-factor authentication is on");
      }),
    );
    code.focus();
  });
  container.replaceChildren(el("p", {}, "Two-factor authentication is off."), start);
}

export async function securityPage(main) {
  const deviceList = el("div");
  const twoFactorPanel = el("div");
  show(
    main,
    "Security",
    section("devices-title", "Signed-in devices", deviceList),
    section("password-title", "Password", passwordForm(() => devices(deviceList))),
    section("two-factor-title", "Two-factor authentication", twoFactorPanel),
  );
  await Promise.all([devices(deviceList), twoFactor(twoFactorPanel)]);
}
