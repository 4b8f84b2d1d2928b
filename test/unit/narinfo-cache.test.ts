import { describe, expect, it } from "vitest";
import { NarInfoCache } from "../../src/store/db/narinfo-cache.ts";

describe("narinfo cache", () => {
  it("keeps texts until invalidated", () => {
    const cache = new NarInfoCache(10);
    cache.set("a", Buffer.from("text a"), cache.generation);
    expect(cache.get("a")).toEqual(Buffer.from("text a"));
    cache.invalidate();
    expect(cache.get("a")).toBeUndefined();
  });

  it("drops a text rendered before a change happened", () => {
    const cache = new NarInfoCache(10);
    const before = cache.generation;
    cache.invalidate();
    cache.set("a", Buffer.from("stale"), before);
    expect(cache.get("a")).toBeUndefined();
  });

  it("evicts the least recently used beyond its capacity", () => {
    const cache = new NarInfoCache(2);
    cache.set("a", Buffer.from("1"), cache.generation);
    cache.set("b", Buffer.from("2"), cache.generation);
    cache.get("a");
    cache.set("c", Buffer.from("3"), cache.generation);
    expect(cache.get("b")).toBeUndefined();
    expect(cache.get("a")).toEqual(Buffer.from("1"));
    expect(cache.get("c")).toEqual(Buffer.from("3"));
    expect(cache.size).toBe(2);
  });
});
