// Datasets: upload a monthly history as a CSV file, list yours, delete one. The file is sent as
// it is (Content-Type: text/csv); the service reads it and names any line and column it refuses.

import * as api from "../api.js";
import { el, errorBox, field, show, status, table } from "../dom.js";
import { explain, share, when } from "../format.js";

const PAGE = 100;

/** Your datasets, newest first (the run form's choice of dataset uses it too). */
export async function listDatasets() {
  return (await api.getJson(`/datasets?limit=${PAGE}`)).items;
}

function confirmDelete(dataset) {
  return new Promise((resolve) => {
    const yes = el("button", { type: "button", class: "danger" }, "Delete dataset");
    const no = el("button", { type: "button", class: "secondary" }, "Keep it");
    const dialog = el(
      "dialog",
      { "aria-labelledby": "delete-dataset-title" },
      el("h2", { id: "delete-dataset-title" }, `Delete “${dataset.name}”?`),
      el("p", {}, "It can no longer be simulated on; saved simulations keep their results."),
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

function statisticsText(dataset) {
  return dataset.tickers
    .map((ticker) => {
      const stats = dataset.statistics[ticker];
      return `${ticker} ${share(stats.annual_return)} a year, volatility ${share(stats.annual_volatility)}`;
    })
    .join("; ");
}

export async function datasetsPage(main) {
  const name = el("input", { name: "name", required: true, maxLength: 100, value: "" });
  const kind = el(
    "select",
    { name: "kind" },
    el("option", { value: "prices", selected: true }, "Month-end prices"),
    el("option", { value: "returns" }, "Monthly returns (0.012 = 1.2%)"),
  );
  const file = el("input", { type: "file", name: "file", accept: ".csv,text/csv", required: true });
  const problem = errorBox();
  const upload = el("button", { type: "submit" }, "Upload dataset");
  const form = el(
    "form",
    { class: "card", "aria-label": "Upload a dataset" },
    field("Dataset name", name, "What to call it, e.g. “US 60/40 since 2000”."),
    field("The file holds", kind, "Prices are turned into monthly returns."),
    field(
      "CSV file",
      file,
      "A header date,<ticker>,… then one row per month (YYYY-MM or a date in the month), consecutive months, 24 to 2,400 rows, at most 2 MiB.",
    ),
    problem,
    el("div", { class: "actions" }, upload),
  );
  const listing = el("section", { "aria-labelledby": "datasets-title", id: "datasets" });

  async function refreshList() {
    let datasets;
    try {
      datasets = await listDatasets();
    } catch (error) {
      listing.replaceChildren(el("p", { class: "error", role: "alert" }, explain(error)));
      return;
    }
    const rows = datasets.map((dataset) => {
      const remove = el("button", { type: "button", class: "secondary" }, "Delete");
      remove.setAttribute("aria-label", `Delete ${dataset.name}`);
      remove.addEventListener("click", async () => {
        if (!(await confirmDelete(dataset))) return;
        try {
          await api.remove(`/datasets/${encodeURIComponent(dataset.dataset_id)}`);
          status(`Deleted ${dataset.name}`);
        } catch (error) {
          problem.textContent = explain(error);
        }
        await refreshList();
      });
      return el(
        "tr",
        {},
        el("td", {}, dataset.name, el("p", { class: "hint" }, dataset.dataset_id)),
        el("td", {}, dataset.tickers.join(", "), el("p", { class: "hint" }, statisticsText(dataset))),
        el("td", {}, `${dataset.first_month} to ${dataset.last_month}`, el("p", { class: "hint" }, `${dataset.months} months`)),
        el("td", {}, when(dataset.created_at)),
        el("td", {}, el("div", { class: "actions" }, el("a", { href: `#/run/${dataset.dataset_id}` }, `Simulate on ${dataset.name}`), remove)),
      );
    });
    listing.replaceChildren(
      el("h2", { id: "datasets-title" }, "Your datasets"),
      rows.length
        ? table(null, ["Name", "Tickers", "Months", "Uploaded", ""], rows)
        : el("p", {}, "No datasets yet: upload a CSV file above."),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const chosen = file.files[0];
    if (!chosen) {
      problem.textContent = "Choose a CSV file first.";
      return;
    }
    upload.disabled = true;
    status("Uploading…");
    try {
      const query = new URLSearchParams({ name: name.value.trim(), kind: kind.value });
      const created = await api.postCsv(`/datasets?${query}`, chosen);
      status(`Uploaded ${created.name}: ${created.months} months of ${created.tickers.length} tickers`);
      form.reset();
      await refreshList();
    } catch (error) {
      problem.textContent = explain(error);
      status("");
    } finally {
      upload.disabled = false;
    }
  });

  show(main, "Datasets", el("p", {}, "Your own monthly history, to simulate on with any return model."), form, listing);
  await refreshList();
}
