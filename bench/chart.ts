// A bar chart of the results as plain SVG: one bar per metric (the median ratio storefront /
// nginx, its min–max as a whisker), the goal as a mark on each row, and peak RSS against its
// goal in a second panel. No dependencies: the SVG is written as text.

export interface ChartRow {
  readonly label: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly goal: number | undefined;
}

const WIDTH = 760;
const LABEL_WIDTH = 190;
const VALUE_WIDTH = 80;
const ROW_HEIGHT = 34;
const BAR_HEIGHT = 18;
const PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 20;
const MET = "#3b8a4f";
const MISSED = "#c0504d";
const NO_GOAL = "#7f7f7f";

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function formatValue(value: number): string {
  return value >= 100 ? value.toFixed(0) : String(Number(value.toFixed(2)));
}

/** A tick step of 1, 2, 2.5 or 5 times a power of ten that splits `max` into about five. */
function tickStep(max: number): number {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((candidate) => candidate >= rough);
  return step ?? 10 * power;
}

/** One horizontal panel of bars, `at` pixels down; returns its SVG and height. */
function panel(
  at: number,
  title: string,
  rows: readonly ChartRow[],
  unit: string,
  reference: { value: number; label: string } | undefined,
): { svg: string; height: number } {
  // The scale is set by the rows with a goal, so that a row without one (zstd's first download,
  // tens of times nginx's time) does not flatten the others; it is drawn cut, its value beside.
  const scaled = rows.some((r) => r.goal !== undefined)
    ? rows.filter((r) => r.goal !== undefined)
    : rows;
  const finite = scaled.flatMap((r) => [r.max, r.goal ?? 0]).filter((v) => Number.isFinite(v));
  const top = Math.max(...finite, reference?.value ?? 0, 0.01) * 1.1;
  const step = tickStep(top);
  const scaleMax = Math.ceil(top / step) * step;
  const x = (value: number): number =>
    LABEL_WIDTH + (Math.min(Math.max(value, 0), scaleMax) / scaleMax) * PLOT_WIDTH;
  const parts: string[] = [];
  parts.push(`<text x="10" y="${at + 16}" class="title">${escape(title)}</text>`);
  const plotTop = at + 34;
  const plotHeight = rows.length * ROW_HEIGHT;
  for (let value = 0; value <= scaleMax + step / 2; value += step) {
    const px = x(value);
    parts.push(
      `<line x1="${px}" y1="${plotTop}" x2="${px}" y2="${plotTop + plotHeight}" class="grid"/>`,
      `<text x="${px}" y="${plotTop + plotHeight + 14}" class="tick">${Number(value.toFixed(2))}${unit}</text>`,
    );
  }
  if (reference !== undefined) {
    const px = x(reference.value);
    parts.push(
      `<line x1="${px}" y1="${plotTop - 4}" x2="${px}" y2="${plotTop + plotHeight}" class="reference"/>`,
      `<text x="${px + 3}" y="${plotTop - 6}" class="note">${escape(reference.label)}</text>`,
    );
  }
  rows.forEach((row, i) => {
    const y = plotTop + i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    const colour = row.goal === undefined ? NO_GOAL : row.median <= row.goal ? MET : MISSED;
    parts.push(
      `<text x="${LABEL_WIDTH - 8}" y="${y + 13}" class="label">${escape(row.label)}</text>`,
    );
    if (Number.isFinite(row.median)) {
      parts.push(
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${x(row.median) - LABEL_WIDTH}" height="${BAR_HEIGHT}" fill="${colour}"/>`,
        `<line x1="${x(row.min)}" y1="${y + BAR_HEIGHT / 2}" x2="${x(row.max)}" y2="${y + BAR_HEIGHT / 2}" class="whisker"/>`,
        ...(row.median > scaleMax
          ? [`<text x="${x(scaleMax) - 4}" y="${y + 13}" class="cut">off the scale ›</text>`]
          : []),
        `<text x="${WIDTH - VALUE_WIDTH}" y="${y + 13}" class="value">${formatValue(row.median)}${unit}</text>`,
      );
    } else {
      parts.push(`<text x="${LABEL_WIDTH + 4}" y="${y + 13}" class="note">not measured</text>`);
    }
    if (row.goal !== undefined) {
      const px = x(row.goal);
      parts.push(
        `<line x1="${px}" y1="${y - 4}" x2="${px}" y2="${y + BAR_HEIGHT + 4}" class="goal"/>`,
      );
    }
  });
  return { svg: parts.join("\n"), height: 34 + plotHeight + 24 };
}

export function renderChart(
  ratios: readonly ChartRow[],
  memory: readonly ChartRow[],
  subtitle: string,
): string {
  const first = panel(
    40,
    "Time ratio storefront / nginx (median; whisker min–max; black mark: goal)",
    ratios,
    "",
    { value: 1, label: "nginx" },
  );
  const second = panel(
    40 + first.height + 16,
    "Peak memory of storefront during NAR c16",
    memory,
    " MiB",
    undefined,
  );
  const height = 40 + first.height + 16 + second.height + 24;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif">
<style>
  .title { font-size: 14px; font-weight: bold; }
  .label { font-size: 12px; text-anchor: end; }
  .value { font-size: 12px; }
  .tick { font-size: 10px; text-anchor: middle; fill: #555; }
  .note { font-size: 10px; fill: #555; }
  .cut { font-size: 11px; fill: #fff; text-anchor: end; }
  .grid { stroke: #e3e3e3; }
  .reference { stroke: #555; stroke-dasharray: 4 3; }
  .goal { stroke: #000; stroke-width: 3; }
  .whisker { stroke: #222; stroke-width: 1.5; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="20" class="title">storefront vs nginx</text>
<text x="10" y="34" class="note">${escape(subtitle)}</text>
${first.svg}
${second.svg}
<text x="10" y="${height - 8}" class="note">green: goal met, red: missed, grey: no goal; generated by bench/run.ts</text>
</svg>
`;
}
