// The README's config table and the config schema say the same: one row per key of the schema
// (and no other), with the schema's default and meaning. The schema is the one place they are
// written; change both together.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/config.ts";
import type { Field, Schema } from "../../src/config/config-schema.ts";

const README = new URL("../../README.md", import.meta.url).pathname;

/** A default as the table shows it: markdown as written, "unset", or code. */
function defaultCell(field: Field<unknown>): string {
  const text = field.defaultText;
  return text === "unset" || text.includes("`") ? text : `\`${text}\``;
}

/** Key cell → [default, meaning], from the schema. */
function schemaRows(schema: Schema = configSchema): Map<string, [string, string]> {
  const rows = new Map<string, [string, string]>();
  for (const [key, spec] of Object.entries(schema)) {
    if (spec.kind === "field") {
      rows.set(`\`${key}\``, [defaultCell(spec), spec.doc]);
      continue;
    }
    for (const [inner, field] of Object.entries(spec.fields)) {
      if (field.kind !== "field") continue;
      // A list of tables is written as TOML writes its tables: `[[access.tokens]]`.
      const cell = field.expected.startsWith("a list of tables")
        ? `\`[[${key}.${inner}]]\``
        : `\`[${key}]\` \`${inner}\``;
      rows.set(cell, [field.defaultText === "none" ? "none" : defaultCell(field), field.doc]);
    }
  }
  return rows;
}

/** Key cell → [default, meaning], from the table under "## Configuration". */
function readmeRows(): Map<string, [string, string]> {
  const readme = readFileSync(README, "utf8");
  const section = readme.slice(readme.indexOf("## Configuration\n"));
  const lines = section.split("\n");
  const start = lines.findIndex((line) => line.startsWith("| key"));
  const table = lines.slice(start + 2);
  const rows = new Map<string, [string, string]>();
  for (const line of table.slice(
    0,
    table.findIndex((l) => !l.startsWith("|")),
  )) {
    const [, key = "", value = "", meaning = ""] = line.split(/(?<!\\)\|/).map((c) => c.trim());
    rows.set(key, [value, meaning]);
  }
  return rows;
}

describe("the README's config table", () => {
  it("has one row per key of the schema, with its default and meaning", () => {
    expect(Object.fromEntries(readmeRows())).toEqual(Object.fromEntries(schemaRows()));
  });

  it("shows derived defaults as the schema computes them", () => {
    expect(schemaRows().get("`[gcroots]` `dir`")?.[0]).toBe(
      "`<real_nix_store>/../var/nix/gcroots/storefront`",
    );
    expect(schemaRows().get("`nix_db_path`")?.[0]).toBe(
      "`<real_nix_store>/../var/nix/db/db.sqlite`",
    );
  });
});
