/**
 * Whether a hook's answer is a promise (awaited) rather than a value (used at once,
 * sparing a microtask turn). Reads `then` once; a `then` getter that throws throws here,
 * inside the step that called the hook, which reports it as that hook's failure.
 */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/**
 * Whether a value is a promise or another thenable, for a value that must not be one (a
 * `parse` that returns a promise): a `then` that cannot be read counts as one, and never
 * throws out of here.
 */
export function isThenable(value: unknown): boolean {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return false;
  try {
    return typeof (value as { then?: unknown }).then === 'function';
  } catch {
    return true;
  }
}
