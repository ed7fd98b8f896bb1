// Numbers as people read them: 12,345,678 money, 4.2% shares, dates in the reader's locale.

const moneyFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const ratioFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2, minimumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat("en-US", { style: "percent", maximumFractionDigits: 2 });

export const money = (value) => (value === null || value === undefined ? "–" : moneyFormat.format(value));
export const ratio = (value) => (value === null || value === undefined ? "–" : ratioFormat.format(value));
export const share = (value) => (value === null || value === undefined ? "–" : percentFormat.format(value));
export const percentNumber = (value) => (value === null || value === undefined ? "–" : `${ratioFormat.format(value)}%`);
export const when = (iso) => (iso ? new Date(iso).toLocaleString() : "never");

/** "final_value_stats" -> "Final value stats" for fields the dashboard has no label for yet. */
export function humanize(name) {
  const words = name.replaceAll("_", " ").replace(/\bpct\b/, "%").replace(/\bvar\b/i, "VaR").replace(/\bcvar\b/i, "CVaR");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An API error's detail in words: a string, or a list of field errors. */
export function describeError(error) {
  const { detail } = error;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((item) => {
        const where = (item.loc || []).filter((part) => !["body", "query", "path"].includes(part)).join(" › ");
        const message = String(item.msg || "").replace(/^Value error, /, "");
        return where ? `${where}: ${message}` : message;
      })
      .join(". ");
  }
  return error.message || "Something went wrong";
}

/** describeError, plus when to try again after a lockout or a rate limit. */
export function explain(error) {
  const words = describeError(error);
  if (!error.retryAfter) return words;
  const minutes = Math.ceil(error.retryAfter / 60);
  const wait = error.retryAfter < 120 ? `${error.retryAfter} seconds` : `${minutes} minutes`;
  return `${words} Try again in ${wait}.`;
}
