// Run a simulation: asset rows (ticker, class, weight) with a running weight sum, the parameters,
// pre-filled with the spec's example request as the service documents it in its OpenAPI schema.

import * as api from "../api.js";
import { el, errorBox, field, show, status } from "../dom.js";
import { explain } from "../format.js";
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

export async function runPage(main, { go }) {
  const { classes, rebalancing, example } = await requestSchema();
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

  for (const asset of example.portfolio.assets) rows.append(assetRow(asset));
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

  const submit = el("button", { type: "submit" }, "Run simulation");
  const form = el(
    "form",
    { class: "card", "aria-label": "Run a simulation" },
    el("h2", {}, "Portfolio"),
    rows,
    sum,
    el("div", { class: "actions" }, add),
    el("h2", {}, "Parameters"),
    el("div", { class: "grid" }, parameterFields),
    problem,
    el("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    problem.textContent = "";
    const assets = [...rows.children].map((row) => ({
      ticker: row.querySelector(".ticker-input").value.trim(),
      asset_class: row.querySelector("select").value,
      weight: Number(row.querySelector("input.weight").value) / 100,
    }));
    const parameters = { rebalancing: inputs.rebalancing.value };
    for (const [name] of PARAMETERS) {
      if (inputs[name].value !== "") parameters[name] = Number(inputs[name].value);
    }
    submit.disabled = true;
    status("Simulating…");
    try {
      const result = await api.postJson("/simulate", { portfolio: { assets }, parameters });
      remember(result);
      status(`Simulated ${result.inputs.parameters.num_simulations.toLocaleString()} paths`);
      go(`#/result/${result.simulation_id}`);
    } catch (error) {
      problem.textContent = explain(error);
      status("");
      problem.focus?.();
    } finally {
      submit.disabled = false;
    }
  });
  updateSum();
  show(main, "Run a simulation", form);
}
