// Background jobs, newest first: progress while they run, cancel, and the result when done.

import * as api from "../api.js";
import { el, show, status, table } from "../dom.js";
import { explain, when } from "../format.js";

const PAGE = 20;
const POLL_MS = 2000;
const ACTIVE = new Set(["queued", "running"]);

function progressCell(job) {
  const percent = Math.round(job.progress * 100);
  return el(
    "td",
    {},
    el("progress", { max: "100", value: String(percent), "aria-label": `Progress of ${job.job_id}` }),
    ` ${percent}%`,
  );
}

function outcomeCell(job, cancel) {
  if (job.status === "succeeded") {
    return el("td", {}, el("a", { href: `#/result/${job.simulation_id}` }, "Open the result"));
  }
  if (ACTIVE.has(job.status)) {
    const button = el("button", { type: "button", class: "secondary" }, "Cancel");
    button.setAttribute("aria-label", `Cancel job ${job.job_id}`);
    button.addEventListener("click", () => cancel(job, button));
    return el("td", {}, button);
  }
  return el("td", {}, job.error || "");
}

export async function jobsPage(main, { params }) {
  const offset = Math.max(0, Number(params[0]) || 0);
  const problem = el("p", { class: "error", role: "alert" });
  const body = el("section", { id: "jobs" });
  let timer = null;

  async function cancel(job, button) {
    if (!window.confirm(`Cancel job ${job.job_id}?`)) return;
    button.disabled = true;
    try {
      await api.remove(`/jobs/${job.job_id}`);
      status(`Job ${job.job_id} cancelled`);
    } catch (error) {
      problem.textContent = explain(error);
    }
    await load();
  }

  async function load() {
    clearTimeout(timer);
    if (!main.contains(body)) return; // the reader went to another page
    let page;
    try {
      page = await api.getJson(`/jobs?limit=${PAGE}&offset=${offset}`);
    } catch (error) {
      problem.textContent = explain(error);
      return;
    }
    const rows = page.items.map((job) =>
      el(
        "tr",
        { "data-job": job.job_id, "data-status": job.status },
        el("td", {}, when(job.created_at)),
        el("td", {}, job.status),
        progressCell(job),
        el("td", { class: "number" }, `${job.paths_done.toLocaleString()} / ${job.paths_total.toLocaleString()}`),
        outcomeCell(job, cancel),
      ),
    );
    const pager = el(
      "div",
      { class: "actions" },
      offset > 0 ? el("a", { href: `#/jobs/${Math.max(0, offset - PAGE)}` }, "Newer") : null,
      offset + PAGE < page.total ? el("a", { href: `#/jobs/${offset + PAGE}` }, "Older") : null,
    );
    body.replaceChildren(
      page.total
        ? el(
            "div",
            {},
            el("p", {}, `${page.total.toLocaleString()} ${page.total === 1 ? "job" : "jobs"}, newest first. Running jobs refresh every 2 seconds.`),
            table(null, ["Created", "Status", "Progress", { text: "Paths", class: "number" }, "Outcome"], rows),
            pager,
          )
        : el("p", {}, "No jobs yet. Large runs go here: ", el("a", { href: "#/run" }, "start one"), " with “Run as a background job”."),
    );
    if (page.items.some((job) => ACTIVE.has(job.status))) timer = setTimeout(load, POLL_MS);
  }

  show(main, "Background jobs", problem, body);
  await load();
}
