// Pin names. A name becomes a directory under the GC roots directory, so it must be one safe
// path component: not empty, no `/`, not `.` or `..` or any dot-leading name (hidden, and
// `..` escapes), no control characters, and short enough for a file name.

/** Pins that storefront makes for newly registered paths are named `auto:<hash>-<name>`. */
export const AUTO_PIN_PREFIX = "auto:";

const MAX_NAME_BYTES = 200;

/** Returns why `name` cannot name a pin, or undefined when it can. */
export function pinNameProblem(name: string): string | undefined {
  if (name === "") return "a pin name must not be empty";
  if (name.startsWith(".")) return "a pin name must not start with a dot";
  if (name.includes("/") || name.includes("\\")) return "a pin name must not contain a slash";
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\u0000-\u001f\u007f]/.test(name)) return "a pin name must not contain control characters";
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
