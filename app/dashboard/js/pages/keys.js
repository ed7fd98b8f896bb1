// API keys: generate one (shown once, with a copy button), list them, revoke with confirmation.

import * as api from "../api.js";
import { el, errorBox, field, show, status, table } from "../dom.js";
import { explain, when } from "../format.js";

function limitsText(count) {
  return (
    `${count.active_count} of at most ${count.max_active_keys} keys active; ` +
    `at least ${count.min_active_keys} must stay active, so a key can be revoked only while more than ` +
    `${count.min_active_keys} are.`
  );
}

function newKeyPanel(created) {
  const code = el("code", { id: "new-key" }, created.key);
  const copied = el("span", { role: "status" });
  const copy = el("button", { type: "button", class: "secondary", "aria-describedby": "new-key" }, "Copy key");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      copied.textContent = "Copied to the clipboard.";
    } catch {
      getSelection().selectAllChildren(code);
      copied.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
    }
  });
  return el(
    "section",
    { "aria-labelledby": "new-key-title", id: "new-key-panel" },
    el("h2", { id: "new-key-title" }, `Your new key “${created.name}”`),
    el("p", {}, "This is the only time the full key is shown: copy it now and keep it secret."),
    el("div", { class: "secret" }, code, copy),
    copied,
  );
}

function confirmRevoke(key) {
  return new Promise((resolve) => {
    const yes = el("button", { type: "button", class: "danger", value: "revoke" }, "Revoke key");
    const no = el("button", { type: "button", class: "secondary" }, "Keep it");
    const dialog = el(
      "dialog",
      { "aria-labelledby": "revoke-title" },
      el("h2", { id: "revoke-title" }, `Revoke “${key.name}”?`),
      el("p", {}, `${key.key_preview} stops working at once, for every script that uses it. This cannot be undone.`),
      el("div", { class: "actions" }, yes, no),
    );
    const close = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    yes.addEventListener("click", () => close(true));
    no.addEventListener("click", () => close(false));
    dialog.addEventListener("cancel", () => close(false));
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

export async function keysPage(main) {
  const name = el("input", { name: "name", required: true, maxLength: 100, value: "Production Key" });
  const problem = errorBox();
  const generate = el("button", { type: "submit" }, "Generate key");
  const form = el(
    "form",
    { class: "card", "aria-label": "Generate an API key" },
    field("Key name", name, "What the key is for, e.g. the script or server that uses it."),
    problem,
    el("div", { class: "actions" }, generate),
  );
  const created = el("div");
  const listing = el("section", { "aria-labelledby": "keys-title" });

  async function refreshList() {
    const [keys, count] = await Promise.all([api.getJson("/api-keys/list"), api.getJson("/api-keys/count")]);
    const rows = keys.map((key) => {
      const revoke = el("button", { type: "button", class: "danger" }, "Revoke");
      revoke.setAttribute("aria-label", `Revoke ${key.name} (${key.key_preview})`);
      revoke.disabled = key.status !== "active";
      revoke.addEventListener("click", async () => {
        if (!(await confirmRevoke(key))) return revoke.focus();
        problem.textContent = "";
        try {
          await api.postJson("/api-keys/revoke", { api_key_id: key.id });
          status(`Revoked ${key.name}`);
          await refreshList();
        } catch (error) {
          problem.textContent = explain(error);
          problem.scrollIntoView({ block: "nearest" });
        }
      });
      return el(
        "tr",
        {},
        el("td", {}, key.name),
        el("td", {}, el("code", {}, key.key_preview)),
        el("td", {}, key.status),
        el("td", { class: "number" }, key.status === "active" ? String(key.days_until_expiry) : "–"),
        el("td", {}, when(key.last_used_at)),
        el("td", {}, revoke),
      );
    });
    generate.disabled = !count.can_generate;
    listing.replaceChildren(
      el("h2", { id: "keys-title" }, "Your keys"),
      el("p", { class: "hint", id: "key-limits" }, limitsText(count)),
      rows.length
        ? table(null, ["Name", "Key", "Status", { text: "Days to expiry", class: "number" }, "Last used", "Action"], rows)
        : el("p", {}, "No keys yet: generate two, so one can be replaced without a gap."),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    generate.disabled = true;
    try {
      const key = await api.postJson("/api-keys/generate", { name: name.value });
      created.replaceChildren(newKeyPanel(key));
      created.querySelector("button").focus();
      status(`Generated ${key.name}`);
      await refreshList();
    } catch (error) {
      problem.textContent = explain(error);
      generate.disabled = false;
    }
  });

  show(main, "API keys", form, created, listing);
  await refreshList();
}
