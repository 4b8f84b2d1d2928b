// Reading Accept-Encoding (RFC 9110 §12.5.3): `coding;q=0.5, other`. The one parser, for the
// negotiation of transport compression (compression.ts) and for the build logs' bzip2
// (routes/log.ts).

/** The q-value of each coding the header names (lower-cased), `*` included. */
export function parseAcceptEncoding(header: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const item of header.split(",")) {
    const [name = "", ...params] = item.split(";");
    const coding = name.trim().toLowerCase();
    if (coding === "") continue;
    let q = 1;
    for (const param of params) {
      const match = /^\s*q\s*=\s*(\S*)\s*$/i.exec(param);
      if (match === null) continue;
      const value = match[1] ?? "";
      // RFC 9110 qvalue: 0 to 1 with up to three decimals; anything else makes the item void.
      q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : 0;
    }
    weights.set(coding, q);
  }
  return weights;
}

/**
 * True when `header` names `coding` with q > 0. `*` is not taken to include a coding that a
 * client never names (a browser's `*` does not mean that it reads bzip2).
 */
export function listsEncoding(header: string | undefined, coding: string): boolean {
  if (header === undefined) return false;
  return (parseAcceptEncoding(header).get(coding) ?? 0) > 0;
}

/**
 * Whether the body may go out as it is: always, unless the header refuses it (`identity;q=0`,
 * or `*;q=0` without naming identity).
 */
export function acceptsIdentity(header: string | undefined): boolean {
  if (header === undefined) return true;
  const weights = parseAcceptEncoding(header);
  return (weights.get("identity") ?? weights.get("*") ?? 1) > 0;
}
