// Uploads: `nix copy --to http://storefront` lands the closure in the served store (issue 15).

export { uploadRoutes } from "./routes.ts";
export { openUploads, type Uploads } from "./uploads.ts";
