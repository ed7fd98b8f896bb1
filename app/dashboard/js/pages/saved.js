// Saved simulations, newest first, a page at a time; each opens its result page.

import * as api from "../api.js";
import { el, show, table } from "../dom.js";
import { explain, money, share, when } from "../format.js";

const PAGE = 20;

export async function savedPage(main, { params }) {
  const offset = Math.max(0, Number(params[0]) || 0);
  let page;
  try {
    page = await api.getJson(`/simulations?limit=${PAGE}&offset=${offset}`);
  } catch (error) {
    return show(main, "Saved simulations", el("p", { class: "error", role: "alert" }, explain(error)));
  }
  const rows = page.items.map((item) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: `#/result/${item.simulation_id}` }, when(item.created_at))),
      el("td", {}, item.tickers.join(", ")),
      el("td", { class: "number" }, String(item.time_horizon_years)),
      el("td", { class: "number" }, item.num_simulations.toLocaleString()),
      el("td", { class: "number" }, money(item.mean_final_value)),
      el("td", { class: "number" }, share(item.probability_of_loss)),
    ),
  );
  const pager = el(
    "div",
    { class: "actions" },
    offset > 0 ? el("a", { href: `#/simulations/${Math.max(0, offset - PAGE)}` }, "Newer") : null,
    offset + PAGE < page.total ? el("a", { href: `#/simulations/${offset + PAGE}` }, "Older") : null,
  );
  show(
    main,
    "Saved simulations",
    page.total
      ? el(
          "section",
          { id: "saved" },
          el("p", {}, `${page.total.toLocaleString()} saved, newest first.`),
          table(
            null,
            ["Run", "Assets", { text: "Years", class: "number" }, { text: "Paths", class: "number" }, { text: "Mean final value", class: "number" }, { text: "P(loss)", class: "number" }],
            rows,
          ),
          pager,
        )
      : el("p", {}, "No simulations yet. ", el("a", { href: "#/run" }, "Run one.")),
  );
}
