/** A Redis command that did not answer in time: the stores treat it as Redis being down. */
export class RedisCommandTimeout extends Error {
  override readonly name = 'RedisCommandTimeout';
}

/**
 * `promise`, or a {@link RedisCommandTimeout} after `ms`: a safety net beside ioredis's own
 * `commandTimeout`, so that a store never waits on Redis longer than it was told.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, command: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisCommandTimeout(`Redis ${command} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
