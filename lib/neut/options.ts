import { z } from 'zod';
import { isLoopbackHost, requiredString, secretString } from '../core/config';
import { normaliseOrigin } from '../core/origin';
import { neutWidgetsSchema } from './widgets';

/** A fixed time (milliseconds since the epoch, or a Date) or a clock returning milliseconds. */
export type NeutClock = number | Date | (() => number);

/** Shortest mint secret accepted. */
export const NEUT_MIN_SECRET_LENGTH = 16;

function origin(requireHttps: boolean) {
  return z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') }).transform((value, ctx) => {
    // "https://www.example.com/" names the same origin; anything longer than one slash is a path
    const candidate = value.endsWith('/') && !value.endsWith('//') ? value.slice(0, -1) : value;
    const result = normaliseOrigin(candidate);
    if ('error' in result) {
      ctx.addIssue({ code: 'custom', message: result.error });
      return z.NEVER;
    }
    if (requireHttps && result.origin.startsWith('http:') && !isLoopbackHost(new URL(result.origin).hostname)) {
      ctx.addIssue({ code: 'custom', message: 'must use https: (plain http: is allowed only for localhost, 127.0.0.0/8 and [::1])' });
      return z.NEVER;
    }
    return result.origin;
  });
}

/** `scheme://host[:port]` of the site embedding the widgets, normalised (lower-case host, no default port). */
export const neutHostOrigin = origin(false);

/** The origin serving the widgets' embed pages: https, or http on a loopback host. */
export const neutWidgetOrigin = origin(true);

/** The mint secret: at least {@link NEUT_MIN_SECRET_LENGTH} characters, never echoed. */
export const neutMintSecret = secretString(NEUT_MIN_SECRET_LENGTH);

/** zod schema of a clock option, resolved to a function returning milliseconds. */
export const neutClock = z
  .custom<NeutClock>(
    (v) => typeof v === 'function' || (typeof v === 'number' && Number.isFinite(v)) || (v instanceof Date && !Number.isNaN(v.getTime())),
    { message: 'must be milliseconds since the epoch, a Date, or a function returning milliseconds' },
  )
  .transform((v): (() => number) => {
    if (typeof v === 'function') return v;
    const fixed = typeof v === 'number' ? v : v.getTime();
    return () => fixed;
  });

/** The options that sign an embed URL, shared by {@link createNeutEmbedParams} and the router. */
export const neutMintShape = {
  tenantId: requiredString(),
  hostOrigin: neutHostOrigin,
  mintSecret: neutMintSecret,
  mintKeyId: requiredString(),
  widgetOrigin: neutWidgetOrigin,
  widgets: neutWidgetsSchema.optional(),
  now: neutClock.optional(),
  randomUUID: z.custom<() => string>((v) => typeof v === 'function', { message: 'must be a function returning a fresh random string' }).optional(),
};
