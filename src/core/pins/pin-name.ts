// Pin names. A name becomes a directory under the GC roots directory, so it must be one safe
// path component: not empty, no `/`, not `.` or `..` or any dot-leading name (hidden, and
// `..` escapes), no control or invisible characters, and short enough for a file name.

/** Pins that storefront makes for newly registered paths are named `auto:<hash>-<name>`. */
export const AUTO_PIN_PREFIX = "auto:";

const MAX_NAME_BYTES = 200;

/**
 * Characters a name must not hold: they hide or disguise what a person reads in `storefront
 * pins`, a log or a terminal, or change it (a C1 control such as U+0085 is a line break to some
 * tools; U+009B starts a terminal escape sequence). Cc: C0 controls, DEL and C1 controls. Cf:
 * format characters, among them the bidi embeddings, overrides and isolates (U+202A-202E,
 * U+2066-2069) that reorder text, the marks U+200E/200F/061C, zero-width characters and the
 * BOM, soft hyphen and tag characters. Zl, Zp: line and paragraph separators. Cs: lone
 * surrogates. Also the Hangul fillers, letters that render as nothing.
 */
const HIDDEN_OR_CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u3164\uffa0]/u;

/** Returns why `name` cannot name a pin, or undefined when it can. */
export function pinNameProblem(name: string): string | undefined {
  if (name === "") return "a pin name must not be empty";
  if (name.startsWith(".")) return "a pin name must not start with a dot";
  if (name.includes("/") || name.includes("\\")) return "a pin name must not contain a slash";
  if (HIDDEN_OR_CONTROL.test(name)) {
    return "a pin name must not contain control characters or invisible ones (bidi controls, zero-width characters)";
  }
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    return `a pin name must be at most ${MAX_NAME_BYTES} bytes`;
  }
  return undefined;
}

/** Like pinNameProblem, and also refuses the prefix kept for storefront's own pins. */
export function userPinNameProblem(name: string): string | undefined {
  if (name.startsWith(AUTO_PIN_PREFIX)) {
    return `names starting with "${AUTO_PIN_PREFIX}" are kept for pins storefront makes itself`;
  }
  return pinNameProblem(name);
}

/** The name of the pin made for a newly registered path `<hash>-<name>`. */
export function autoPinName(baseName: string): string {
  return AUTO_PIN_PREFIX + baseName;
}
