// Command-line errors: what was wrong with the arguments, and exit code 2.

import { parseArgs, type ParseArgsConfig, type ParseArgsOptionsConfig } from "node:util";

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
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
