// Reading what systemd passes in the environment: activated sockets and the watchdog interval.

import { describe, expect, it } from "vitest";
import { activatedFds, watchdogIntervalMs } from "../../src/process/systemd-env.ts";

describe("activatedFds", () => {
  it("gives descriptors from 3 when LISTEN_PID is this process", () => {
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "1" }, 42)).toEqual([3]);
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "3" }, 42)).toEqual([3, 4, 5]);
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "0" }, 42)).toEqual([]);
  });

  it("ignores sockets meant for another process or without LISTEN_PID", () => {
    expect(activatedFds({ LISTEN_PID: "41", LISTEN_FDS: "1" }, 42)).toEqual([]);
    expect(activatedFds({ LISTEN_FDS: "1" }, 42)).toEqual([]);
    expect(activatedFds({ LISTEN_PID: "x", LISTEN_FDS: "1" }, 42)).toEqual([]);
    expect(activatedFds({}, 42)).toEqual([]);
  });

  it("says what is wrong with a malformed LISTEN_FDS", () => {
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "two" }, 42)).toBe(
      'LISTEN_FDS must be a number of sockets, not "two"',
    );
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "-1" }, 42)).toMatch(/LISTEN_FDS/);
    expect(activatedFds({ LISTEN_PID: "42", LISTEN_FDS: "5000" }, 42)).toMatch(/LISTEN_FDS/);
  });
});

describe("watchdogIntervalMs", () => {
  it("is half of WATCHDOG_USEC, in milliseconds", () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000" }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "42" }, 42)).toBe(15_000);
  });

  it("is off when unset, zero, malformed or meant for another process", () => {
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "0" }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: "soon" }, 42)).toBeUndefined();
    expect(
      watchdogIntervalMs({ WATCHDOG_USEC: "30000000", WATCHDOG_PID: "41" }, 42),
    ).toBeUndefined();
  });
});
