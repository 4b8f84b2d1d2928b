// What storefront's HTML pages share: escaping text, in element content and in quoted attribute
// values alike, and the style sheet of the pages for people (the landing and status pages).

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

/** The pages' look: plain, readable on a phone, long lines wrapped rather than scrolled. */
export const PAGE_STYLE =
  "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.4}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap;overflow-wrap:anywhere}code{overflow-wrap:anywhere}th{text-align:left;padding-right:1rem}";
