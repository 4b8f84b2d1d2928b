// Reading Accept-Encoding (RFC 9110 §12.5.3): `coding;q=0.5, other`. A coding is accepted when
// it is listed with a q above zero; `*` is not taken to include codings a client never names.

/** True when `header` lists `coding` with q > 0. */
export function listsEncoding(header: string | undefined, coding: string): boolean {
  if (header === undefined) return false;
  for (const item of header.split(",")) {
    const [name = "", ...parameters] = item.split(";").map((part) => part.trim());
    if (name.toLowerCase() !== coding) continue;
    const q = parameters.find((parameter) => /^q=/i.test(parameter));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}
