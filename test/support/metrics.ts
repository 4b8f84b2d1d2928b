// Reading Prometheus text as a scraper would: series (name with labels, as written) to value.

export function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

/** Sum of every series of `name` whose labels include all of `labels`. */
export function sumOf(
  series: Map<string, number>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  let total = 0;
  for (const [key, value] of series) {
    const brace = key.indexOf("{");
    const keyName = brace === -1 ? key : key.slice(0, brace);
    if (keyName !== name) continue;
    const text = brace === -1 ? "" : key.slice(brace);
    if (Object.entries(labels).every(([label, v]) => text.includes(`${label}="${v}"`))) {
      total += value;
    }
  }
  return total;
}
