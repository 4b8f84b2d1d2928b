// Uploads: `nix copy --to http://storefront` lands the closure in the served store.

export { openUploads, type Uploads } from "./uploads.ts";
