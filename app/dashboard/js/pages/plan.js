// A plan's cash flows and withdrawals on the run form (scheduled flows, the annual fee, a
// withdrawal strategy, the safe-withdrawal solve), and what the result page says about them.

import { el, field, table } from "../dom.js";
import { money, share } from "../format.js";

const FREQUENCIES = ["monthly", "quarterly", "annually", "once"];
const STRATEGIES = [
  ["", "None"],
  ["fixed_real", "Fixed real amount (the 4% rule)"],
  ["percentage", "Percentage of the value"],
  ["guardrails", "Guardrails (Guyton-Klinger)"],
];
// Per strategy: [request field, label, hint, input attributes, default]
const STRATEGY_FIELDS = {
  fixed_real: [
    ["annual_amount", "Annual withdrawal", "Today's money, a year; rises with inflation.", { min: 0, step: "any" }, "40000"],
  ],
  percentage: [["annual_rate", "Annual rate", "A fraction of the value each year: 0.04 = 4%.", { min: 0, max: 1, step: "any" }, "0.04"]],
  guardrails: [
    ["initial_rate", "Initial rate", "r0: the first year's withdrawal over the value.", { min: 0, max: 1, step: "any" }, "0.05"],
    ["upper_guardrail", "Upper guardrail", "Cut when the rate exceeds r0 x (1 + this).", { min: 0, max: 1, step: "any" }, "0.2"],
    ["lower_guardrail", "Lower guardrail", "Raise when the rate falls below r0 x (1 - this).", { min: 0, max: 1, step: "any" }, "0.2"],
    ["adjustment", "Adjustment", "The cut or raise, a fraction of the withdrawal.", { min: 0, max: 1, step: "any" }, "0.1"],
  ],
};

function flowRow(onRemove) {
  const controls = {
    amount: el("input", { type: "number", name: "flow_amount", step: "any", required: true }),
    frequency: el("select", { name: "flow_frequency" }, FREQUENCIES.map((f) => el("option", { value: f }, f))),
    start_month: el("input", { type: "number", name: "flow_start_month", min: 1, step: 1, value: "1" }),
    end_month: el("input", { type: "number", name: "flow_end_month", min: 1, step: 1 }),
    indexed_to_inflation: el("input", { type: "checkbox", name: "flow_indexed" }),
    label: el("input", { type: "text", name: "flow_label", maxlength: 100 }),
  };
  const remove = el("button", { type: "button", class: "secondary" }, "Remove this flow");
  const row = el(
    "fieldset",
    { class: "flow" },
    el("legend", {}, "Cash flow"),
    el(
      "div",
      { class: "grid" },
      field("Amount", controls.amount, "Positive adds, negative withdraws."),
      field("Frequency", controls.frequency),
      field("Start month", controls.start_month, "1 = the first month."),
      field("End month (optional)", controls.end_month, "Inclusive; empty = the horizon."),
      field("Label (optional)", controls.label),
      el("div", { class: "field" }, el("label", { class: "check" }, controls.indexed_to_inflation, "Indexed to inflation")),
    ),
    remove,
  );
  remove.addEventListener("click", () => onRemove(row));
  row.flow = () => {
    const flow = {
      amount: Number(controls.amount.value),
      frequency: controls.frequency.value,
      start_month: Number(controls.start_month.value || 1),
      indexed_to_inflation: controls.indexed_to_inflation.checked,
    };
    if (controls.end_month.value !== "") flow.end_month = Number(controls.end_month.value);
    if (controls.label.value.trim()) flow.label = controls.label.value.trim();
    return flow;
  };
  return row;
}

/** The plan's controls; `parameters()` gives their request fields (none when left empty). */
export function planControls() {
  const flows = el("div", { id: "cash-flows" });
  const addFlow = el("button", { type: "button", class: "secondary" }, "Add a cash flow");
  addFlow.addEventListener("click", () => {
    const row = flowRow((gone) => gone.remove());
    flows.append(row);
    row.querySelector("input").focus();
  });
  const fee = el("input", { type: "number", name: "annual_fee", min: 0, max: 0.2, step: "any", value: "0" });
  const strategy = el("select", { name: "withdrawal_strategy" }, STRATEGIES.map(([value, text]) => el("option", { value }, text)));
  const strategyStart = el("input", { type: "number", name: "strategy_start_month", min: 1, step: 1, value: "1" });
  const strategyInputs = {};
  const strategyFields = {};
  for (const [type, specs] of Object.entries(STRATEGY_FIELDS)) {
    strategyInputs[type] = {};
    strategyFields[type] = specs.map(([name, labelText, hint, attributes, value]) => {
      strategyInputs[type][name] = el("input", { type: "number", name: `${type}_${name}`, ...attributes, value });
      return field(labelText, strategyInputs[type][name], hint);
    });
  }
  const solve = el("input", { type: "checkbox", name: "solve_safe_withdrawal" });
  const target = el("input", { type: "number", name: "target_success", min: 0.5, max: 0.999, step: "any", value: "0.9" });
  const startField = field("Withdrawals start in month", strategyStart, "1 = at once; 241 = after 20 years.");
  const solveField = el("div", { class: "field" }, el("label", { class: "check" }, solve, "Find the safe withdrawal amount"));
  const targetField = field("Target success", target, "0.5 to 0.999: the share of paths that must never run out.");
  const strategyBox = el("div", { class: "grid" });

  function update() {
    const type = strategy.value;
    strategyBox.replaceChildren(...(type ? [startField, ...strategyFields[type]] : []));
    solveField.hidden = type !== "fixed_real";
    targetField.hidden = type !== "fixed_real" || !solve.checked;
    if (type === "fixed_real") strategyInputs.fixed_real.annual_amount.disabled = solve.checked;
  }
  strategy.addEventListener("change", update);
  solve.addEventListener("change", update);
  update();

  const fields = el(
    "div",
    {},
    el("p", { class: "hint" }, "Flows happen at the start of their month, before its return; months count from 1."),
    flows,
    el("div", { class: "actions" }, addFlow),
    el("div", { class: "grid" }, field("Annual fee", fee, "0 to 0.2: 0.01 = 1% of the value a year, taken monthly."), field("Withdrawal strategy", strategy)),
    strategyBox,
    solveField,
    targetField,
  );

  function parameters() {
    const chosen = {};
    const cashFlows = [...flows.children].map((row) => row.flow());
    if (cashFlows.length) chosen.cash_flows = cashFlows;
    if (Number(fee.value)) chosen.annual_fee = Number(fee.value);
    const type = strategy.value;
    if (type) {
      const spec = { type, start_month: Number(strategyStart.value || 1) };
      for (const [name, input] of Object.entries(strategyInputs[type])) {
        if (!input.disabled && input.value !== "") spec[name] = Number(input.value);
      }
      chosen.withdrawal_strategy = spec;
      if (type === "fixed_real" && solve.checked) {
        chosen.solve = { safe_withdrawal_rate: { target_success: Number(target.value) } };
      }
    }
    return chosen;
  }
  return { fields, parameters };
}

function totalsRow(name, totals) {
  return el(
    "tr",
    {},
    el("th", { scope: "row" }, name),
    ["mean", "median", "p5", "p95"].map((key) => el("td", { class: "number" }, money(totals[key]))),
  );
}

/** The plan's answers: success and depletion, survival by year, withdrawals, the solve. */
export function planSection(results) {
  const parts = [];
  const depletion = results.depletion;
  if (results.safe_withdrawal) {
    const found = results.safe_withdrawal;
    parts.push(
      el(
        "p",
        { id: "safe-withdrawal" },
        `Safe withdrawal: ${money(found.annual_amount)} a year in today's money` +
          (found.rate === null ? "" : ` (${share(found.rate)} of the initial investment)`) +
          `, which succeeds on ${share(found.success)} of paths (target ${share(found.target_success)}; ${found.iterations} runs).`,
      ),
    );
  }
  if (depletion) {
    const months = depletion.month_percentiles;
    parts.push(
      el(
        "p",
        { id: "success" },
        `Success: ${share(results.probabilities.success)} of paths never run out of money.` +
          (months ? ` Those that do run out by month ${Math.round(months.p50)} at the median (10th percentile: month ${Math.round(months.p10)}).` : ""),
      ),
    );
  }
  if (results.survival_by_year?.length && depletion?.probability > 0) {
    const rows = results.survival_by_year.map((alive, index) =>
      el("tr", {}, el("th", { scope: "row" }, String(index + 1)), el("td", { class: "number" }, share(alive))),
    );
    parts.push(table("Paths still holding money at the end of each year", ["Year", { text: "Alive", class: "number" }], rows));
  }
  const withdrawals = results.withdrawals;
  if (withdrawals) {
    parts.push(
      table(
        "Total withdrawn per path",
        ["", { text: "Mean", class: "number" }, { text: "Median", class: "number" }, { text: "5th percentile", class: "number" }, { text: "95th percentile", class: "number" }],
        [totalsRow("Nominal", withdrawals.total), totalsRow("Today's money", withdrawals.total_real)],
      ),
    );
    const annual = withdrawals.annual;
    if (annual) {
      const rows = annual.year.map((year, i) =>
        el("tr", {}, el("th", { scope: "row" }, String(year)), [annual.p5[i], annual.p50[i], annual.p95[i]].map((v) => el("td", { class: "number" }, money(v)))),
      );
      parts.push(table("Withdrawn each year", ["Year", { text: "5th percentile", class: "number" }, { text: "Median", class: "number" }, { text: "95th percentile", class: "number" }], rows));
    }
  }
  return parts.length ? el("section", { "aria-label": "Plan", id: "plan" }, el("h2", {}, "Plan"), parts) : null;
}
