// Command-line errors. The exit codes, the same for every command:
//   0  done;
//   1  the command could not do its work, for a reason the user must fix: the config, a file
//      (missing, unreadable, unwritable, there already), a value refused (a pin name, a key
//      name, a path not in the store), an address it cannot listen on;
//   2  the command line itself is wrong: an unknown command, subcommand or option, a missing
//      or extra argument, options that exclude each other, an option value of the wrong form.
// A script can thus tell "fix how you call it" (2) from "fix the machine or the config" (1).

import { parseArgs, type ParseArgsConfig, type ParseArgsOptionsConfig } from "node:util";

/** The command line is wrong: exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The command could not do its work, for a reason the user must fix: exit code 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandError";
  }
}

/** node:util's parseArgs, with its errors turned into UsageErrors that show the help. */
export function parseCommandArgs<T extends ParseArgsConfig>(
  config: T,
  help: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${message}\n\n${help}`);
  }
}

const HELP_OPTION = { help: { type: "boolean", short: "h" } } as const;

/** The `--help` row of every command's help. */
export const HELP_ROW: readonly [string, string] = ["-h, --help", "show this help"];

type CommandArgsConfig<O extends ParseArgsOptionsConfig> = {
  args: string[];
  options: O & typeof HELP_OPTION;
  allowPositionals: true;
  strict: true;
};

/**
 * A command's arguments: `options` and `-h, --help`, positionals allowed, unknown options
 * refused. Undefined when help was asked for, which it has printed: the command exits 0.
 */
export function parseCommand<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  help: string,
): ReturnType<typeof parseArgs<CommandArgsConfig<O>>> | undefined {
  const config: CommandArgsConfig<O> = {
    args,
    options: { ...options, ...HELP_OPTION },
    allowPositionals: true,
    strict: true,
  };
  const parsed = parseCommandArgs(config, help);
  // parseArgs' result type, left generic here, does not show the `help` it was given.
  const values: { readonly help?: boolean | undefined } = parsed.values;
  if (values.help !== true) return parsed;
  process.stdout.write(help + "\n");
  return undefined;
}

/** Refuses positional arguments, for a command that takes none. */
export function expectNoPositionals(positionals: readonly string[], help: string): void {
  if (positionals.length > 0)
    throw new UsageError(`unexpected "${positionals[0] ?? ""}"\n\n${help}`);
}

/**
 * Rows of a help text (`--config FILE`, what it does), indented by two spaces, with the
 * descriptions in one column; a description's further lines ("\n") are indented to it.
 */
export function helpRows(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([term]) => term.length)) + 2;
  return rows
    .map(([term, text]) =>
      `  ${term.padEnd(width)}${text.split("\n").join("\n" + " ".repeat(width + 2))}`.trimEnd(),
    )
    .join("\n");
}
