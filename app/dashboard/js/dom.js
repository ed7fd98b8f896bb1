// Building the page from elements and text nodes only: no innerHTML, so nothing the server or a
// user typed is ever parsed as markup.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}

let fieldNumber = 0;

/** A labelled input (or select): the label names it, the hint describes it. */
export function field(labelText, control, hintText) {
  fieldNumber += 1;
  control.id ||= `field-${fieldNumber}`;
  const parts = [el("label", { for: control.id }, labelText), control];
  if (hintText) {
    const hint = el("p", { class: "hint", id: `${control.id}-hint` }, hintText);
    control.setAttribute("aria-describedby", hint.id);
    parts.push(hint);
  }
  return el("div", { class: "field" }, parts);
}

export function errorBox() {
  return el("p", { class: "error", role: "alert" });
}

export function show(main, title, ...content) {
  document.title = `${title} · Monte Carlo dashboard`;
  main.replaceChildren(el("h1", {}, title), ...content);
  main.focus();
}

let statusTimer = null;

/** A short, polite announcement, cleared after a while so it never covers the page for long. */
export function status(text) {
  const region = document.getElementById("status");
  region.textContent = text;
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => {
    region.textContent = "";
  }, 5000);
}

export function table(caption, headers, rows) {
  return el(
    "div",
    { class: "table-wrap" },
    el(
      "table",
      {},
      caption ? el("caption", {}, caption) : null,
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col", class: h.class || "" }, h.text ?? h)))),
      el("tbody", {}, rows),
    ),
  );
}
