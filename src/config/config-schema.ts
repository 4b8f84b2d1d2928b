// A small schema language for the config file: each field parses and checks one TOML value and
// carries its default and its documentation, so that the schema is at once the validator, the
// TypeScript type (through `ConfigOf`) and the source of the README's key table.

import { ConfigError } from "../errors.ts";
import { parseByteSize } from "./byte-size.ts";

export interface Field<T> {
  readonly kind: "field";
  /** What the value is, for error messages and docs: "a string", "an integer >= 1". */
  readonly expected: string;
  readonly doc: string;
  /** The default as the README's config table shows it (markdown). */
  readonly defaultText: string;
  /**
   * The default; derived (`derived: true`) when it depends on other keys or on the machine,
   * and then checked like a value written in the file.
   */
  readonly fallback: (context: DefaultContext) => T;
  readonly derived: boolean;
  readonly parse: (value: unknown) => T | undefined;
}

export interface Section<S extends Schema> {
  readonly kind: "section";
  readonly doc: string;
  readonly fields: S;
}

export type Schema = { readonly [key: string]: Field<unknown> | Section<Schema> };

export type ConfigOf<S extends Schema> = {
  readonly [K in keyof S]: S[K] extends Field<infer T>
    ? T
    : S[K] extends Section<infer Inner>
      ? ConfigOf<Inner>
      : never;
};

/** What a derived default is computed from. */
export interface DefaultContext {
  /** The top-level keys read so far (those above in the schema). */
  readonly top: Readonly<Record<string, unknown>>;
  readonly env: NodeJS.ProcessEnv;
}

interface FieldOptions<T> {
  doc: string;
  default: T | ((context: DefaultContext) => T);
  defaultText?: string;
}

function field<T>(
  expected: string,
  parse: (value: unknown) => T | undefined,
  options: FieldOptions<T>,
): Field<T> {
  const fallback = options.default;
  return {
    kind: "field",
    expected,
    doc: options.doc,
    defaultText: options.defaultText ?? JSON.stringify(fallback),
    fallback:
      typeof fallback === "function" ? (fallback as (c: DefaultContext) => T) : () => fallback,
    derived: typeof fallback === "function",
    parse,
  };
}

export function section<S extends Schema>(doc: string, fields: S): Section<S> {
  return { kind: "section", doc, fields };
}

export const string = (options: FieldOptions<string>): Field<string> =>
  field("a string", (v) => (typeof v === "string" ? v : undefined), options);

export const optionalString = (
  options: FieldOptions<string | undefined>,
): Field<string | undefined> =>
  field("a string", (v) => (typeof v === "string" ? v : undefined), {
    defaultText: "unset",
    ...options,
  });

export const absolutePath = (options: FieldOptions<string>): Field<string> =>
  field(
    "an absolute path",
    (v) => (typeof v === "string" && v.startsWith("/") ? v.replace(/(.)\/+$/, "$1") : undefined),
    options,
  );

/** An absolute path, kept as written (a trailing `/` stays). */
export const absolutePathAsWritten = (options: FieldOptions<string>): Field<string> =>
  field(
    "an absolute path",
    (v) => (typeof v === "string" && v.startsWith("/") ? v : undefined),
    options,
  );

export const boolean = (options: FieldOptions<boolean>): Field<boolean> =>
  field("true or false", (v) => (typeof v === "boolean" ? v : undefined), options);

export const integer = (min: number, max: number, options: FieldOptions<number>): Field<number> =>
  field(
    `an integer from ${min} to ${max}`,
    (v) => {
      // smol-toml gives integers as numbers, or as bigints beyond 2^53.
      const n = typeof v === "bigint" ? Number(v) : v;
      return typeof n === "number" && Number.isInteger(n) && n >= min && n <= max ? n : undefined;
    },
    options,
  );

/** A size: integer bytes or a string with a binary unit, e.g. "10G", "512M". */
export const byteSize = (options: FieldOptions<number>): Field<number> =>
  field('a size in bytes: an integer or a string like "10G" or "512M"', parseByteSize, options);

/** A size that may be left unset (no limit): as `byteSize`. */
export const optionalByteSize = (
  options: FieldOptions<number | undefined>,
): Field<number | undefined> =>
  field('a size in bytes: an integer or a string like "10G" or "512M"', parseByteSize, {
    defaultText: "unset",
    ...options,
  });

export const stringList = (options: FieldOptions<readonly string[]>): Field<readonly string[]> =>
  field(
    "a list of strings",
    (v) =>
      Array.isArray(v) && v.every((item) => typeof item === "string")
        ? Object.freeze([...v])
        : undefined,
    options,
  );

/**
 * A list of tables (`[[name]]`), taken as it is: its entries are checked where they are used,
 * with messages that say which entry and which key.
 */
export const tableList = (options: FieldOptions<readonly unknown[]>): Field<readonly unknown[]> =>
  field("a list of tables ([[...]])", (v) => (Array.isArray(v) ? v : undefined), options);

/** Checks `input` (parsed TOML) against `schema`: unknown keys and wrong types name the key. */
export function applySchema<S extends Schema>(
  schema: S,
  input: Record<string, unknown>,
  where: string,
  env: NodeJS.ProcessEnv,
  prefix = "",
  top?: Readonly<Record<string, unknown>>,
): ConfigOf<S> {
  for (const key of Object.keys(input)) {
    if (!(key in schema)) {
      throw new ConfigError(`${where}: unknown key "${prefix}${key}"; see the README for the keys`);
    }
  }
  const result: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const value = input[key];
    if (spec.kind === "section") {
      if (
        value !== undefined &&
        (typeof value !== "object" || value === null || Array.isArray(value))
      ) {
        throw new ConfigError(`${where}: "${prefix}${key}" must be a table ([${prefix}${key}])`);
      }
      result[key] = applySchema(
        spec.fields,
        (value ?? {}) as Record<string, unknown>,
        where,
        env,
        `${prefix}${key}.`,
        top ?? result,
      );
      continue;
    }
    if (value === undefined && !spec.derived) {
      result[key] = spec.fallback({ top: top ?? result, env });
      continue;
    }
    const parsed = spec.parse(value ?? spec.fallback({ top: top ?? result, env }));
    if (parsed === undefined) {
      throw new ConfigError(`${where}: "${prefix}${key}" must be ${spec.expected}`);
    }
    result[key] = parsed;
  }
  return Object.freeze(result) as ConfigOf<S>;
}
