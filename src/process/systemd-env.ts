// What systemd tells a service through its environment (sd_listen_fds(3), sd_notify(3)): which
// inherited file descriptors are listening sockets, and how often to ping the watchdog.

/** systemd passes activated sockets as consecutive file descriptors from 3 (SD_LISTEN_FDS_START). */
const LISTEN_FDS_START = 3;

type SystemdEnv = Readonly<Record<string, string | undefined>>;

/**
 * The listening sockets systemd handed to process `pid`: none when LISTEN_PID is unset or names
 * another process (the variables were inherited from a parent they were meant for). Returns a
 * sentence when LISTEN_FDS is malformed.
 */
export function activatedFds(env: SystemdEnv, pid: number): readonly number[] | string {
  const listenPid = env["LISTEN_PID"];
  const listenFds = env["LISTEN_FDS"];
  if (listenPid === undefined || listenFds === undefined) return [];
  if (!/^\d+$/.test(listenPid) || Number(listenPid) !== pid) return [];
  if (!/^\d+$/.test(listenFds)) return `LISTEN_FDS must be a number of sockets, not "${listenFds}"`;
  const count = Number(listenFds);
  if (count > 1024) return `LISTEN_FDS=${listenFds} is more sockets than storefront accepts`;
  return Array.from({ length: count }, (_, i) => LISTEN_FDS_START + i);
}

/**
 * How often to send WATCHDOG=1, in milliseconds: half of WATCHDOG_USEC, as sd_watchdog_enabled(3)
 * advises, or undefined when the watchdog is off or meant for another process (WATCHDOG_PID).
 */
export function watchdogIntervalMs(env: SystemdEnv, pid: number): number | undefined {
  const usec = env["WATCHDOG_USEC"];
  if (usec === undefined || !/^\d+$/.test(usec) || Number(usec) === 0) return undefined;
  const watchdogPid = env["WATCHDOG_PID"];
  if (watchdogPid !== undefined && Number(watchdogPid) !== pid) return undefined;
  return Math.max(1, Math.floor(Number(usec) / 2 / 1000));
}
