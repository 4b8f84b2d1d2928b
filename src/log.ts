// Concise logs for operators, one line each on stderr: `level message key=value ...`. systemd's
// journal adds the time. Developers get more with NODE_DEBUG=storefront (util.debuglog).

import { debuglog } from "node:util";

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

function format(level: string, message: string, fields: LogFields | undefined): string {
  let line = `${level} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) ? JSON.stringify(text) : text}`;
  }
  return line + "\n";
}

export function createLogger(
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const debug = debuglog("storefront");
  return {
    info: (message, fields) => {
      write(format("info", message, fields));
    },
    warn: (message, fields) => {
      write(format("warn", message, fields));
    },
    error: (message, fields) => {
      write(format("error", message, fields));
    },
    debug: (message, fields) => {
      if (debug.enabled) debug(format("debug", message, fields).trimEnd());
    },
  };
}
