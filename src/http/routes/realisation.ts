// `/realisations/<drvHash>!<output>.doi`: where a CA derivation's output was built to, from the
// database's Realisations table (Nix up to 2.34 asks for this URL).

import { parseDrvOutput, renderRealisation } from "../../core/nix/realisation.ts";
import { StorefrontError } from "../../errors.ts";
import { SHORT_LIVED, sendText } from "../respond.ts";
import type { Route } from "../router.ts";

export const realisationRoute: Route<"store"> = {
  name: "/realisations/<id>.doi",
  pattern: /^\/realisations\/([^/]*)\.doi$/,
  methods: ["GET"],
  scope: "read",
  handle: ({ res, params, services: { store } }) => {
    const id = parseDrvOutput(params[0] ?? "");
    if (id === undefined) throw new StorefrontError("bad_request", "malformed derivation output");
    const realisation = store.realisation(id);
    if (realisation === undefined) throw new StorefrontError("not_found", "no realisation");
    sendText(res, 200, renderRealisation(realisation), {
      "content-type": "application/json",
      // Signatures may be added to a realisation later.
      "cache-control": SHORT_LIVED,
    });
  },
};
