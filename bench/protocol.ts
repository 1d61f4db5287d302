/** Messages between the orchestrator and its server and fake-vendor processes (over the IPC channel). */

/** Orchestrator → server process. */
export type ServerCommand =
  | { id: number; cmd: 'start'; sampleRssMs?: number; recordArrivals?: boolean }
  | { id: number; cmd: 'stop' }
  | { id: number; cmd: 'rss' };

/** What a server process measured between `start` and `stop`. */
export interface ServerWindow {
  /** CPU time of the whole process (user + system, every thread), in microseconds. */
  cpuUs: number;
  /** The system (kernel) part of `cpuUs`. */
  cpuSystemUs: number;
  /** Requests received. */
  requests: number;
  /** Resident set size samples in bytes, when sampling was asked for. */
  rss: number[];
  /** Arrival times (ms since the epoch) of each request, when asked for. */
  arrivals: number[];
}

/** Server process → orchestrator. */
export type ServerReply =
  | { type: 'ready'; port: number }
  | { type: 'failed'; message: string }
  | { id: number; type: 'started' }
  | { id: number; type: 'stopped'; window: ServerWindow }
  | { id: number; type: 'rss'; rss: number };

/** Counters of one fake vendor. */
export interface FakeCounts {
  /** TCP connections the fake accepted. */
  connections: number;
  /** Requests the fake received. */
  requests: number;
}

/** Orchestrator → fakes process. */
export type FakesCommand =
  | { id: number; cmd: 'counts' }
  | { id: number; cmd: 'latency'; fake: FakeName; ms: number; path?: string }
  | { id: number; cmd: 'clear-faults' };

/**
 * The fakes the fakes process runs: one per router under test, one for direct load
 * (Liveblocks and HubSpot: one each, shared by the router and its hand-written handler).
 */
export type FakeName = 'nevermined' | 'neverminedDirect' | 'wonderful' | 'wonderfulDirect' | 'neuroon' | 'liveblocks' | 'hubspot';

/** Fakes process → orchestrator. */
export type FakesReply =
  | { type: 'ready'; urls: Record<FakeName, string> }
  | { type: 'failed'; message: string }
  | {
      id: number;
      type: 'counts';
      counts: Record<FakeName, FakeCounts>;
      /** Token requests received per Neuroon shop. */
      neuroonIssues: Record<string, number>;
      /** When each Neuroon shop's first token requests arrived (ms since the epoch). */
      neuroonIssueTimes: Record<string, number[]>;
    }
  | { id: number; type: 'ok' };
