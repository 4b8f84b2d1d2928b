// Content types for files served from store paths, by file name extension. Text types say
// UTF-8: store files are built from UTF-8 sources far more often than not. Anything unknown is
// a download (octet-stream), which a browser never renders as a page.

const TEXT = "; charset=utf-8";

const BY_EXTENSION: ReadonlyMap<string, string> = new Map([
  ["html", "text/html" + TEXT],
  ["htm", "text/html" + TEXT],
  ["css", "text/css" + TEXT],
  ["js", "text/javascript" + TEXT],
  ["mjs", "text/javascript" + TEXT],
  ["json", "application/json"],
  ["map", "application/json"],
  ["xml", "application/xml"],
  ["txt", "text/plain" + TEXT],
  ["md", "text/markdown" + TEXT],
  ["csv", "text/csv" + TEXT],
  ["nix", "text/plain" + TEXT],
  ["sh", "text/plain" + TEXT],
  ["conf", "text/plain" + TEXT],
  ["log", "text/plain" + TEXT],
  ["svg", "image/svg+xml"],
  ["png", "image/png"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["gif", "image/gif"],
  ["webp", "image/webp"],
  ["avif", "image/avif"],
  ["ico", "image/vnd.microsoft.icon"],
  ["woff", "font/woff"],
  ["woff2", "font/woff2"],
  ["ttf", "font/ttf"],
  ["otf", "font/otf"],
  ["wasm", "application/wasm"],
  ["pdf", "application/pdf"],
  ["mp4", "video/mp4"],
  ["webm", "video/webm"],
  ["mp3", "audio/mpeg"],
  ["ogg", "audio/ogg"],
  ["zip", "application/zip"],
  ["gz", "application/gzip"],
  ["xz", "application/x-xz"],
  ["zst", "application/zstd"],
  ["tar", "application/x-tar"],
]);

const DEFAULT_CONTENT_TYPE = "application/octet-stream";

/** The content type for a file named `name` (bytes or text; only the extension counts). */
export function contentTypeFor(name: string): string {
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return BY_EXTENSION.get(name.slice(dot + 1).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
