// The page a person sees at `/`: what this cache is, and the nix.conf lines to use it.

import { keySetup } from "./first-steps.ts";
import { escapeHtml, PAGE_STYLE } from "./html.ts";

export interface LandingPageFacts {
  readonly version: string;
  readonly storeDir: string;
  readonly priority: number;
  readonly publicKeys: readonly string[];
  /** As the client reached us, e.g. `https://cache.example.org`. */
  readonly cacheUrl: string;
  /** `[access] public = false`: reading needs a token, sent from a netrc file. */
  readonly private?: boolean;
  /**
   * The roots whose closures are served (`[exposure] only_closures_of`); undefined: the whole
   * store. The caller decides what a reader may see: a private cache passes only
   * what the reader is allowed to know, e.g. the count, and never a root's path to a stranger.
   */
  readonly servedRoots?: readonly string[] | { readonly count: number } | undefined;
}

function servedRootsRow(roots: LandingPageFacts["servedRoots"]): string {
  if (roots === undefined) return "all of the store";
  if ("count" in roots) return `only the closures of ${roots.count} chosen roots`;
  const items = roots.map((root) => `<code>${escapeHtml(root)}</code>`);
  return `only the closures of ${items.join(", ")}`;
}

/** Where Nix reads netrc credentials by default; said explicitly so that the lines work. */
const NETRC_FILE = "/etc/nix/netrc";

/**
 * The nix.conf lines a client adds, exactly (no trusted-public-keys line without keys). The last
 * two keep the client working while this cache is unreachable: it gives up connecting after 5
 * seconds (curl's default is 300), and builds what it cannot download instead of failing.
 */
export function nixConfLines(facts: LandingPageFacts): string {
  let lines = facts.private === true ? `netrc-file = ${NETRC_FILE}\n` : "";
  lines += `extra-substituters = ${facts.cacheUrl}\n`;
  if (facts.publicKeys.length > 0) {
    lines += `extra-trusted-public-keys = ${facts.publicKeys.join(" ")}\n`;
  }
  return lines + "connect-timeout = 5\nfallback = true\n";
}

/** What the page says when no key signs: why clients refuse, and the two steps that fix it. */
function noKeyAdvice(cacheUrl: string): string {
  const { command, configLine } = keySetup(URL.parse(cacheUrl)?.hostname ?? "");
  return `<p>No signing key is configured: Nix clients refuse the paths built on this machine unless they trust this cache without signatures. To sign, make a key on the server:</p>
<pre>${escapeHtml(command)}</pre>
<p>and add to storefront's config (then restart it):</p>
<pre>${escapeHtml(configLine)}</pre>`;
}

/** The netrc line of a private cache, with placeholders: the page never holds a secret. */
export function netrcLine(cacheUrl: string): string {
  let host = cacheUrl;
  try {
    host = new URL(cacheUrl).hostname.replace(/^\[(.*)\]$/, "$1");
  } catch {
    // Keep the URL as it is: the line is still a fair hint.
  }
  return `machine ${host} login TOKEN-NAME password TOKEN-SECRET`;
}

function privateSection(facts: LandingPageFacts): string {
  if (facts.private !== true) return "";
  return `<h2>Private</h2>
<p>This cache is private: reading it needs a token. Ask its operator for one, and add to <code>${NETRC_FILE}</code> (mode 0600), with the token's name and secret:</p>
<pre>${escapeHtml(netrcLine(facts.cacheUrl))}</pre>
`;
}

export function renderLandingPage(facts: LandingPageFacts): string {
  const keys =
    facts.publicKeys.length === 0
      ? noKeyAdvice(facts.cacheUrl)
      : `<ul>${facts.publicKeys.map((key) => `<li><code>${escapeHtml(key)}</code></li>`).join("")}</ul>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>storefront: a Nix binary cache</title>
<style>${PAGE_STYLE}</style>
</head>
<body>
<h1>A Nix binary cache</h1>
<table>
<tr><th>Store</th><td><code>${escapeHtml(facts.storeDir)}</code></td></tr>
<tr><th>Serves</th><td>${servedRootsRow(facts.servedRoots)}</td></tr>
<tr><th>Priority</th><td>${facts.priority}</td></tr>
<tr><th>Server</th><td>storefront ${escapeHtml(facts.version)}</td></tr>
</table>
<h2>Public keys</h2>
${keys}
${privateSection(facts)}<h2>Use it</h2>
<p>Add to <code>nix.conf</code>:</p>
<pre>${escapeHtml(nixConfLines(facts))}</pre>
<p>The last two lines keep this machine working when the cache is down: Nix stops trying to connect after 5 seconds and builds what it cannot download, instead of failing.</p>
</body>
</html>
`;
}
