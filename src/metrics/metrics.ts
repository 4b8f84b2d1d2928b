// The metrics a serving process records, in one registry that is passed in (Services), never
// a global one. Requests are labelled by route name (the pattern), never by the raw URL, so
// the number of series stays small whatever clients ask for.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

const METRIC_PREFIX = "storefront_";

/** Label for requests that matched no route (404s and 405s for unknown paths or methods). */
export const UNMATCHED_ROUTE = "unmatched";

const METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "POST"]);

/** From a fast cache hit to a long NAR download. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

export interface Metrics {
  readonly registry: Registry;
  /** One finished request: its route name, method, status, seconds taken and bytes sent. */
  recordRequest(
    route: string,
    method: string,
    status: number,
    seconds: number,
    bytes: number,
  ): void;
  readonly narStreamsInFlight: Gauge;
  /** Responses streaming a store path's contents (NARs, tarballs, files, logs): max_streams. */
  readonly streamsInFlight: Gauge;
  /** Streams refused with 503 because max_streams were running and none ended in time. */
  readonly streamsRefused: Counter;
  /** Connections refused with 503 (or closed) because max_connections were open. */
  readonly connectionsRefused: Counter;
  readonly narInfoHits: Counter;
  readonly narInfoMisses: Counter;
  readonly narInfoCacheHits: Counter;
  readonly signatures: Counter;
  /** The text /metrics answers with: this registry's, or the whole cluster's. */
  text(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({
    register: registry,
    prefix: METRIC_PREFIX,
    // The event-loop delay histogram samples on a timer: at prom-client's 10 ms an idle server
    // woke 100 times a second for it. 10 samples a second still catch any stall that matters.
    eventLoopMonitoringPrecision: 100,
  });
  const registers = [registry];

  const requests = new Counter({
    name: "storefront_http_requests_total",
    help: "HTTP requests answered, by route name, method and status.",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const duration = new Histogram({
    name: "storefront_http_request_duration_seconds",
    help: "Time from a request's arrival to the end of its response, by route name.",
    labelNames: ["route", "method"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const bytes = new Counter({
    name: "storefront_http_response_bytes_total",
    help: "Bytes sent in responses (headers and bodies), by route name.",
    labelNames: ["route"] as const,
    registers,
  });

  // prom-client turns a label set into a key on every call with labels; the series of one
  // (route, method, status) are looked up once instead. There are few: routes are names, and
  // methods outside METHODS are "other".
  interface RequestSeries {
    readonly requests: ReturnType<typeof requests.labels>;
    readonly duration: ReturnType<typeof duration.labels>;
    readonly bytes: ReturnType<typeof bytes.labels>;
  }
  const series = new Map<string, RequestSeries>();
  const seriesFor = (route: string, method: string, status: number): RequestSeries => {
    const key = `${route} ${method} ${status}`;
    let found = series.get(key);
    if (found === undefined) {
      found = {
        requests: requests.labels({ route, method, status }),
        duration: duration.labels({ route, method }),
        bytes: bytes.labels({ route }),
      };
      series.set(key, found);
    }
    return found;
  };

  return {
    registry,
    recordRequest: (route, method, status, seconds, sent) => {
      const request = seriesFor(route, METHODS.has(method) ? method : "other", status);
      request.requests.inc();
      request.duration.observe(seconds);
      if (sent > 0) request.bytes.inc(sent);
    },
    narStreamsInFlight: new Gauge({
      name: "storefront_nar_streams_in_flight",
      help: "NAR responses being sent right now.",
      registers,
    }),
    streamsInFlight: new Gauge({
      name: "storefront_streams_in_flight",
      help: "Responses streaming a store path's contents right now (NARs, tarballs, files, logs).",
      registers,
    }),
    streamsRefused: new Counter({
      name: "storefront_streams_refused_total",
      help: "Streams answered 503 because max_streams were running and none ended in time.",
      registers,
    }),
    connectionsRefused: new Counter({
      name: "storefront_connections_refused_total",
      help: "Connections answered 503 or closed because max_connections were open.",
      registers,
    }),
    narInfoHits: new Counter({
      name: "storefront_narinfo_hits_total",
      help: "Narinfo requests for paths in the store (answered with a narinfo).",
      registers,
    }),
    narInfoMisses: new Counter({
      name: "storefront_narinfo_misses_total",
      help: "Narinfo requests for paths not in the store (answered 404).",
      registers,
    }),
    narInfoCacheHits: new Counter({
      name: "storefront_narinfo_cache_hits_total",
      help: "Narinfos answered from the cache of signed narinfos, without a query or signing.",
      registers,
    }),
    signatures: new Counter({
      name: "storefront_signatures_total",
      help: "Narinfo signatures made.",
      registers,
    }),
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
