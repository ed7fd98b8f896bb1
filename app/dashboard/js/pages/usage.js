// Your API usage over the last 30 days: per day (calls, errors, simulations) and per endpoint.

import * as api from "../api.js";
import { el, show, table } from "../dom.js";
import { explain, percentNumber, ratio, when } from "../format.js";

function perDayTable(series) {
  const rows = series.map((period) =>
    el(
      "tr",
      {},
      el("td", {}, new Date(period.period_start).toLocaleDateString(undefined, { timeZone: "UTC" })),
      el("td", { class: "number" }, period.calls.toLocaleString()),
      el("td", { class: "number" }, period.errors.toLocaleString()),
      el("td", { class: "number" }, period.avg_execution_time_ms === null ? "–" : `${ratio(period.avg_execution_time_ms)} ms`),
      el("td", { class: "number" }, period.simulations.toLocaleString()),
      el("td", { class: "number" }, period.paths_simulated.toLocaleString()),
    ),
  );
  return table(
    "Per day (UTC)",
    ["Day", ...["Calls", "Errors", "Average time", "Simulations", "Paths"].map((text) => ({ text, class: "number" }))],
    rows,
  );
}

export async function usagePage(main) {
  let report;
  try {
    report = await api.getJson("/api-keys/usage?granularity=day");
  } catch (error) {
    return show(main, "Usage", el("p", { class: "error", role: "alert" }, explain(error)));
  }
  const days = [...(report.series ?? [])].reverse(); // newest first
  const endpoints = report.endpoints.map((endpoint) =>
    el(
      "tr",
      {},
      el("td", {}, el("code", {}, endpoint.endpoint)),
      el("td", { class: "number" }, endpoint.total_calls.toLocaleString()),
      el("td", { class: "number" }, `${ratio(endpoint.avg_execution_time_ms)} ms`),
      el("td", { class: "number" }, percentNumber(endpoint.error_rate_pct)),
    ),
  );
  show(
    main,
    "Usage",
    el("p", {}, `API calls with your keys from ${when(report.since)} to ${when(report.until)}.`),
    days.length ? perDayTable(days) : null,
    endpoints.length
      ? table("Calls per endpoint", ["Endpoint", { text: "Calls", class: "number" }, { text: "Average time", class: "number" }, { text: "Errors", class: "number" }], endpoints)
      : el("p", {}, "No API calls in this window yet."),
  );
}
