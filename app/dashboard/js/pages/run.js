// Run a simulation: asset rows (ticker, class, weight) with a running weight sum, the parameters,
// pre-filled with the spec's example request as the service documents it in its OpenAPI schema;
// the return model and where the market data comes from (one of your datasets, too).

import * as api from "../api.js";
import { el, errorBox, field, show, status } from "../dom.js";
import { explain } from "../format.js";
import { listDatasets } from "./datasets.js";
import { planControls } from "./plan.js";
import { remember } from "./result.js";

const FALLBACK_CLASSES = ["equity", "bonds", "cash", "real_estate", "commodities", "crypto"];
const PARAMETERS = [
  // name, label, hint, input attributes
  ["initial_investment", "Initial investment", "Money invested at the start.", { min: 0, step: "any" }],
  ["monthly_contribution", "Monthly contribution", "Added at the start of each month; negative = a withdrawal.", { step: "any" }],
  ["time_horizon_years", "Years", "1 to 100.", { min: 1, max: 100, step: 1 }],
  ["num_simulations", "Simulated paths", "Default 10,000.", { min: 1, step: 1 }],
  ["seed", "Seed (optional)", "The same seed and inputs give the same numbers.", { min: 0, step: 1 }],
  ["risk_free_rate", "Risk-free rate", "Annual, as a fraction: 0.02 = 2%.", { step: "any" }],
  ["inflation_rate", "Inflation rate", "Annual, as a fraction; non-zero adds results in today's money.", { step: "any" }],
];

let schemaCache = null;

async function requestSchema() {
  schemaCache ||= fetch("/openapi.json").then((response) => (response.ok ? response.json() : {}));
  const spec = await schemaCache;
  const schemas = spec.components?.schemas ?? {};
  const resolve = (node) => (node?.$ref ? schemas[node.$ref.split("/").pop()] : node);
  const classes = resolve(resolve(schemas.AssetInput)?.properties?.asset_class)?.enum ?? FALLBACK_CLASSES;
  const rebalancing = resolve(resolve(schemas.SimulationParameters)?.properties?.rebalancing)?.enum ?? [
    "monthly", "quarterly", "annually", "none",
  ];
  const example = schemas.SimulationRequest?.examples?.[0] ?? {
    portfolio: { assets: [{ ticker: "", asset_class: "equity", weight: 1 }] },
    parameters: { initial_investment: 100000, time_horizon_years: 10 },
  };
  return { classes, rebalancing, example };
}

const toPercent = (weight) => Math.round(weight * 1e6) / 1e4;

const DATA_SOURCES = [
  ["assumptions", "Assumptions by asset class"],
  ["dataset", "One of your datasets"],
  ["bloomberg", "Bloomberg (10 years of monthly prices)"],
];
const RETURN_MODELS = [
  ["normal", "Normal (lognormal)"],
  ["student_t", "Student-t (fat tails)"],
  ["bootstrap", "Bootstrap of the history"],
];

/** The return model and data source controls; `parameters()` gives their request fields. */
async function marketControls(preselectedDataset) {
  let datasets = [];
  let datasetProblem = null;
  try {
    datasets = await listDatasets();
  } catch (error) {
    datasetProblem = explain(error);
  }
  const source = el("select", { name: "data_source" }, DATA_SOURCES.map(([value, text]) => el("option", { value }, text)));
  const dataset = el(
    "select",
    { name: "dataset_id" },
    datasets.length
      ? datasets.map((d) => el("option", { value: d.dataset_id, selected: d.dataset_id === preselectedDataset }, `${d.name} (${d.tickers.join(", ")}; ${d.first_month} to ${d.last_month})`))
      : el("option", { value: "" }, "No datasets yet: upload one on the Datasets page"),
  );
  const useTickers = el("button", { type: "button", class: "secondary" }, "Use the dataset's tickers");
  const model = el("select", { name: "return_model" }, RETURN_MODELS.map(([value, text]) => el("option", { value }, text)));
  const degrees = el("input", { type: "number", name: "degrees_of_freedom", min: 3, max: 100, step: 1, value: "5" });
  const blocks = el("input", { type: "number", name: "block_months", min: 1, max: 120, step: 1, value: "1" });
  const datasetField = field("Dataset", dataset, datasetProblem ?? "Every ticker of the portfolio must be one of its columns.");
  const degreesField = field("Degrees of freedom", degrees, "3 to 100: lower means fatter tails.");
  const blocksField = field("Block length (months)", blocks, "1 to 120: months replayed together; more keeps the history's momentum.");
  const datasetActions = el("div", { class: "actions" }, useTickers);

  function update() {
    const onDataset = source.value === "dataset";
    datasetField.hidden = !onDataset;
    datasetActions.hidden = !onDataset || !datasets.length;
    degreesField.hidden = model.value !== "student_t";
    blocksField.hidden = model.value !== "bootstrap";
  }
  source.addEventListener("change", update);
  model.addEventListener("change", update);
  if (preselectedDataset && datasets.some((d) => d.dataset_id === preselectedDataset)) source.value = "dataset";
  update();

  function parameters() {
    const chosen = { data_source: source.value, return_model: { type: model.value } };
    if (source.value === "dataset") chosen.dataset_id = dataset.value;
    if (model.value === "student_t") chosen.return_model.degrees_of_freedom = Number(degrees.value);
    if (model.value === "bootstrap") chosen.return_model.block_months = Number(blocks.value);
    return chosen;
  }
  const chosenDataset = () => datasets.find((d) => d.dataset_id === dataset.value);
  const fields = el(
    "div",
    { class: "grid" },
    field("Return model", model, "How monthly returns are drawn."),
    degreesField,
    blocksField,
    field("Data source", source, "Where expected returns, volatilities and correlations (or the history) come from."),
    datasetField,
  );
  return { fields, datasetActions, useTickers, parameters, chosenDataset };
}

export async function runPage(main, { go, params = [] }) {
  const { classes, rebalancing, example } = await requestSchema();
  const market = await marketControls(params[0]);
  const rows = el("div", { id: "assets" });
  const sum = el("p", { class: "weight-sum", role: "status", "aria-live": "polite" });
  const problem = errorBox();

  function updateSum() {
    const total = [...rows.querySelectorAll("input.weight")].reduce((acc, input) => acc + (Number(input.value) || 0), 0);
    const rounded = Math.round(total * 1e4) / 1e4;
    sum.textContent = `Weights sum to ${rounded}%${Math.abs(rounded - 100) > 1e-4 ? " (they must sum to 100%)" : ""}`;
    sum.classList.toggle("off", Math.abs(rounded - 100) > 1e-4);
  }

  function assetRow(asset) {
    const number = rows.children.length + 1;
    const ticker = el("input", { class: "ticker-input", required: true, maxLength: 64, value: asset.ticker ?? "" });
    const assetClass = el("select", {}, classes.map((name) => el("option", { value: name, selected: name === asset.asset_class }, name.replace("_", " "))));
    const weight = el("input", { class: "weight", type: "number", min: 0.0001, max: 100, step: "any", required: true, value: String(toPercent(asset.weight ?? 0)) });
    weight.addEventListener("input", updateSum);
    const remove = el("button", { type: "button", class: "secondary" }, "Remove");
    const row = el(
      "fieldset",
      { class: "asset-row" },
      el("legend", { class: "hint" }, `Asset ${number}`),
      el("div", { class: "ticker" }, field("Ticker", ticker)),
      field("Asset class", assetClass),
      field("Weight (%)", weight),
      remove,
    );
    remove.setAttribute("aria-label", `Remove asset ${number}`);
    remove.addEventListener("click", () => {
      row.remove();
      updateSum();
      rows.querySelector("input")?.focus();
    });
    return row;
  }

  function useTickers(tickers) {
    rows.replaceChildren();
    const share = Math.floor(1e6 / tickers.length) / 1e6;
    tickers.forEach((ticker, index) => {
      const weight = index === tickers.length - 1 ? 1 - share * (tickers.length - 1) : share;
      rows.append(assetRow({ ticker, asset_class: classes[0], weight }));
    });
    updateSum();
  }
  market.useTickers.addEventListener("click", () => {
    const dataset = market.chosenDataset();
    if (dataset) useTickers(dataset.tickers);
  });

  const preselected = market.chosenDataset();
  if (params[0] && preselected) useTickers(preselected.tickers);
  else for (const asset of example.portfolio.assets) rows.append(assetRow(asset));
  const add = el("button", { type: "button", class: "secondary" }, "Add an asset");
  add.addEventListener("click", () => {
    const row = assetRow({ asset_class: classes[0], weight: 0 });
    rows.append(row);
    row.querySelector("input").focus();
    updateSum();
  });

  const inputs = {};
  const parameterFields = PARAMETERS.map(([name, label, hint, attributes]) => {
    const value = example.parameters[name];
    inputs[name] = el("input", { type: "number", name, ...attributes, value: value === undefined ? "" : String(value) });
    return field(label, inputs[name], hint);
  });
  inputs.rebalancing = el("select", { name: "rebalancing" }, rebalancing.map((name) => el("option", { value: name, selected: name === (example.parameters.rebalancing ?? "monthly") }, name)));
  parameterFields.push(field("Rebalancing", inputs.rebalancing, "How often weights are restored."));

  const plan = planControls();
  const submit = el("button", { type: "submit" }, "Run simulation");
  const asJob = el("button", { type: "button", class: "secondary" }, "Run as a background job");
  const form = el(
    "form",
    { class: "card", "aria-label": "Run a simulation" },
    el("h2", {}, "Portfolio"),
    rows,
    sum,
    el("div", { class: "actions" }, add),
    el("h2", {}, "Parameters"),
    el("div", { class: "grid" }, parameterFields),
    el("h2", {}, "Cash flows and withdrawals"),
    plan.fields,
    el("h2", {}, "Returns and market data"),
    market.fields,
    market.datasetActions,
    problem,
    el("div", { class: "actions" }, submit, asJob),
  );
  function request() {
    const assets = [...rows.children].map((row) => ({
      ticker: row.querySelector(".ticker-input").value.trim(),
      asset_class: row.querySelector("select").value,
      weight: Number(row.querySelector("input.weight").value) / 100,
    }));
    const parameters = { rebalancing: inputs.rebalancing.value, ...market.parameters(), ...plan.parameters() };
    for (const [name] of PARAMETERS) {
      if (inputs[name].value !== "") parameters[name] = Number(inputs[name].value);
    }
    return { portfolio: { assets }, parameters };
  }

  async function sending(work) {
    problem.textContent = "";
    submit.disabled = asJob.disabled = true;
    try {
      await work(request());
    } catch (error) {
      problem.textContent = explain(error);
      status("");
      problem.focus?.();
    } finally {
      submit.disabled = asJob.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sending(async (body) => {
      status("Simulating…");
      const result = await api.postJson("/simulate", body);
      remember(result);
      status(`Simulated ${result.inputs.parameters.num_simulations.toLocaleString()} paths`);
      go(`#/result/${result.simulation_id}`);
    });
  });
  asJob.addEventListener("click", () =>
    sending(async (body) => {
      const job = await api.postJson("/jobs", body);
      status(`Job ${job.job_id} queued`);
      go("#/jobs");
    }),
  );
  updateSum();
  show(main, "Run a simulation", form);
}
