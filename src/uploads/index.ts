// Uploads: `nix copy --to http://storefront` lands the closure in the served store (issue 15).

export { openUploads, type Uploads } from "./uploads.ts";
