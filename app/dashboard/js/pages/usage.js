// Your API usage: calls per day when the service reports them, and per endpoint.

import * as api from "../api.js";
import { el, show, table } from "../dom.js";
import { explain, percentNumber, ratio, when } from "../format.js";

function perDayTable(days) {
  const rows = days.map((day) =>
    el(
      "tr",
      {},
      el("td", {}, day.day ?? day.date ?? day.period ?? ""),
      el("td", { class: "number" }, String(day.total_calls ?? day.calls ?? 0)),
      el("td", { class: "number" }, String(day.errors ?? 0)),
    ),
  );
  return table("Calls per day", ["Day", { text: "Calls", class: "number" }, { text: "Errors", class: "number" }], rows);
}

export async function usagePage(main) {
  let report;
  try {
    report = await api.getJson("/api-keys/usage?granularity=day");
  } catch (error) {
    if (error.status !== 422) return show(main, "Usage", el("p", { class: "error", role: "alert" }, explain(error)));
    report = await api.getJson("/api-keys/usage");
  }
  const days = report.days ?? report.per_day ?? report.buckets ?? null;
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
    Array.isArray(days) && days.length ? perDayTable(days) : null,
    endpoints.length
      ? table("Calls per endpoint", ["Endpoint", { text: "Calls", class: "number" }, { text: "Average time", class: "number" }, { text: "Errors", class: "number" }], endpoints)
      : el("p", {}, "No API calls in this window yet."),
  );
}
