// One simulation: its fan chart and histogram (drawn by the service), and its figures in tables.

import * as api from "../api.js";
import { el, errorBox, show, table } from "../dom.js";
import { explain, humanize, money, percentNumber, ratio, share, when } from "../format.js";
import { planSection } from "./plan.js";

const recent = new Map(); // simulation id -> the response that created it (saves a request)

export function remember(result) {
  recent.set(result.simulation_id, result);
}

const LABELS = {
  mean: "Mean", median: "Median", std_dev: "Standard deviation", min: "Lowest", max: "Highest",
  var_95: "VaR 95% (5th percentile)", var_99: "VaR 99% (1st percentile)", cvar_95: "CVaR 95% (mean of the worst 5%)",
  var_95_loss: "Loss at VaR 95%", var_99_loss: "Loss at VaR 99%",
  var_95_relative: "VaR 95% below the mean", var_99_relative: "VaR 99% below the mean",
  sharpe_ratio: "Sharpe ratio", sharpe_ratio_geometric: "Sharpe ratio (geometric)", sortino_ratio: "Sortino ratio",
  max_drawdown_pct: "Max drawdown (median path)", max_drawdown_pct_95: "Max drawdown (95th percentile)",
  loss: "Ending below the money invested", positive_return: "Ending above the money invested",
  doubling: "Doubling the money invested", depletion: "Running out of money", success: "Never running out of money",
  cagr_below_risk_free: "Annual return below the risk-free rate",
};

function label(name) {
  if (LABELS[name]) return LABELS[name];
  const percentile = /^(?:percentile_|p)(\d+)$/.exec(name);
  return percentile ? `${percentile[1]}th percentile` : humanize(name);
}

function formatted(section, name, value) {
  if (typeof value !== "number") return value === null ? "–" : String(value);
  if (section === "probabilities" || section === "annualized_return") return share(value);
  if (name.endsWith("_pct") || name.includes("_pct_")) return percentNumber(value);
  if (name.includes("ratio")) return ratio(value);
  return money(value);
}

function figuresTable(caption, section, figures) {
  const rows = Object.entries(figures ?? {})
    .filter(([, value]) => typeof value !== "object" || value === null)
    .map(([name, value]) => el("tr", {}, el("th", { scope: "row" }, label(name)), el("td", { class: "number" }, formatted(section, name, value))));
  return rows.length ? table(caption, ["Figure", { text: "Value", class: "number" }], rows) : null;
}

function chartFigure(id, kind, caption) {
  const image = el("img", { alt: `${caption} (loading)`, width: 800, height: 480, "data-kind": kind });
  const problem = errorBox();
  const figure = el("figure", {}, image, el("figcaption", {}, caption), problem);
  const draw = async (real) => {
    // Within the chart endpoint's bounds (width 320-2400, height 200-1600), even on a phone.
    const width = Math.min(1200, Math.max(320, Math.round(figure.clientWidth || 800)));
    const height = Math.max(200, Math.round(width * 0.6));
    try {
      const url = await api.imageUrl(`/simulations/${id}/chart?kind=${kind}&format=svg&real=${real}&width=${width}&height=${height}`);
      const previous = image.src;
      image.addEventListener("load", () => previous && URL.revokeObjectURL(previous), { once: true });
      image.src = url;
      image.alt = `${caption}${real ? " in today's money" : ""}`;
    } catch (error) {
      problem.textContent = explain(error);
    }
  };
  return { figure, draw };
}

export async function resultPage(main, { params }) {
  const [id] = params;
  let result = recent.get(id);
  if (!result) {
    try {
      result = await api.getJson(`/simulations/${encodeURIComponent(id)}`);
    } catch (error) {
      return show(main, "Simulation", el("p", { class: "error", role: "alert" }, explain(error)));
    }
  }
  const { results, inputs } = result;
  const parameters = inputs.parameters;
  const portfolio = inputs.assets.map((asset) => `${toFixedPercent(asset.weight)} ${asset.ticker}`).join(" · ");
  const fan = chartFigure(id, "fan", "Portfolio value over time: 5–95% and 25–75% of paths, the median, a few paths, and the money invested");
  const histogram = chartFigure(id, "histogram", "Final values, with VaR 95%, VaR 99% and CVaR 95% marked");
  const controls = [];
  if (parameters.inflation_rate) {
    const real = el("input", { type: "checkbox", id: "real-money" });
    real.addEventListener("change", () => Promise.all([fan.draw(real.checked), histogram.draw(real.checked)]));
    controls.push(el("label", { class: "check", for: "real-money" }, real, "Show in today's money"));
  }
  const summary = el(
    "p",
    {},
    `${portfolio}. ${parameters.num_simulations.toLocaleString()} paths over ${parameters.time_horizon_years} years, ` +
      `seed ${parameters.seed}, run ${when(result.created_at)} in ${ratio(result.execution_time_seconds)} s. ` +
      `Money invested: ${money(results.total_invested)}.`,
  );
  const model = el("p", { id: "return-model" }, describeModel(inputs));
  const tables = [
    figuresTable("Final value", "final_value_stats", results.final_value_stats),
    figuresTable("Risk", "risk_metrics", results.risk_metrics),
    figuresTable("Annual return (CAGR) across paths", "annualized_return", results.annualized_return),
    figuresTable("Probabilities", "probabilities", results.probabilities),
  ];
  if (results.real) {
    tables.push(
      figuresTable("Final value in today's money", "final_value_stats", results.real.final_value_stats),
      figuresTable("Risk in today's money", "risk_metrics", results.real.risk_metrics),
    );
  }
  show(
    main,
    `Simulation ${id}`,
    el("section", { "aria-label": "Summary" }, summary, model, controls),
    el("section", { "aria-label": "Charts" }, fan.figure, histogram.figure),
    planSection(results),
    el("section", { "aria-label": "Figures", id: "figures" }, tables),
  );
  await Promise.all([fan.draw(false), histogram.draw(false)]);
}

const SOURCES = { assumptions: "the assumptions by asset class", bloomberg: "Bloomberg", dataset: "dataset" };

/** "Returns: block bootstrap (12-month blocks) of dataset ds_… (2015-01 to 2019-12, 60 months)." */
function describeModel(inputs) {
  const model = inputs.parameters.return_model ?? { type: "normal" };
  const history = inputs.history;
  const months = history?.first_month ? ` (${history.first_month} to ${history.last_month}, ${history.months} months)` : "";
  const from = history?.source === "dataset" ? `dataset ${history.dataset_id}${months}` : `${SOURCES[inputs.parameters.data_source] ?? inputs.parameters.data_source}${months}`;
  if (model.type === "bootstrap") {
    const blocks = model.block_months > 1 ? `block bootstrap (${model.block_months}-month blocks)` : "bootstrap of single months";
    return `Returns: ${blocks} of ${from}.`;
  }
  const kind = model.type === "student_t" ? `Student-t with ${model.degrees_of_freedom} degrees of freedom` : "normal (lognormal)";
  return `Returns: ${kind}; market data from ${from}.`;
}

function toFixedPercent(weight) {
  return `${Math.round(weight * 1e4) / 100}%`;
}
