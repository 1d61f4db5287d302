import express, { type Router } from 'express';
import type { Store } from 'express-rate-limit';
import { z } from 'zod';
import { parseOptions, type EnvVariable, type WeakSecretOption } from './core/config';
import { WidgetAuthConfigError } from './core/errors';
import { chainDirectly } from './core/dispatch';
import { isRecord } from './core/json';
import { guardFactory, rejectMisuse } from './core/misuse';
import { checkCommonOptions, commonOptionsShape, resolveUserSchema, shareSecrets, type CommonRouterOptions } from './core/pipeline';
import type { ResolveUser } from './core/types';
import type { VendorRoute } from './core/vendor';
import { VENDOR_REGISTRY, VENDORS_BY_NAME, type RegisteredVendor } from './vendors';

export type { EnvVariable } from './core/config';

/** The vendors {@link widgetAuth} can mount, in the order it mounts them. */
export const WIDGET_AUTH_VENDORS: readonly WidgetAuthVendor[] = Object.freeze(VENDOR_REGISTRY.map((d) => d.name));

/**
 * A vendor {@link widgetAuth} can mount: one of the names in {@link WIDGET_AUTH_VENDORS}
 * (`"hissuno"`, `"intercom"`, `"pusher"`, …), one per vendor of the registry.
 */
export type WidgetAuthVendor = RegisteredVendor['name'];

/**
 * The options {@link widgetAuth} passes to one vendor's router on top of what the
 * environment provides, by vendor: the options of that vendor's router factory
 * (`hissunoTokenRouter`, `pusherAuthRouter`, …) without those that come from
 * environment variables (secrets, ids, base URLs). A common option given here replaces
 * the top-level one for that vendor only (e.g. its own `rateLimit` or `path`). Neuroon's
 * `provider` is not accepted: to share a provider with `neuroonWidgetToken`, mount
 * `neuroonTokenRouter({ provider })` yourself.
 */
export type WidgetAuthVendorOptions = { [D in RegisteredVendor as D['name']]: NonNullable<D['extraOptions']> };

/**
 * The `vendors` option of {@link widgetAuth}: the vendors to mount, each `true` or an
 * object of extra options for its router. Every vendor named must be fully configured in
 * the environment; vendors not named are not mounted, whatever the environment holds.
 *
 * @example
 * ```ts
 * vendors: { hissuno: true, wonderful: { entityIdFor: (user) => user.wonderfulId } }
 * ```
 */
export type WidgetAuthVendors = { [V in WidgetAuthVendor]?: true | WidgetAuthVendorOptions[V] };

/**
 * The `rateLimit` option of {@link widgetAuth}. Each mounted router gets its own limiter
 * with this window and limit (a user's budget is per vendor). express-rate-limit refuses
 * to share one store instance between limiters, so `store` is either a function giving a
 * new store per vendor, or a store instance when only one vendor is mounted.
 */
export interface WidgetAuthRateLimit {
  /** Window length in milliseconds (at most 24 h). */
  windowMs: number;
  /** Requests allowed per user (else per IP address) per window and vendor. */
  limit: number;
  /**
   * An express-rate-limit store, or `(vendor) => store` returning a new one for each
   * vendor, each with its own prefix (rate-limit-redis for several instances).
   * Defaults to an in-memory store per router.
   */
  store?: Store | ((vendor: WidgetAuthVendor) => Store);
}

/** Options of {@link widgetAuth}. */
export interface WidgetAuthOptions extends Omit<CommonRouterOptions, 'path' | 'rateLimit'>, WeakSecretOption {
  /**
   * Maps the request to the signed-in user; `null` means nobody (401). Used by every
   * router that serves signed-in users only (all but two). Neut's and Neuroon's routers
   * serve anonymous visitors as they do when mounted alone (their widgets show public
   * data and a shop-wide token); give them a `resolveUser` in `vendors` to require a
   * sign-in there too.
   */
  resolveUser: ResolveUser;
  /** Where the vendors' variables are read. Defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * The vendors to mount and their extra options (see {@link WidgetAuthVendors}).
   * Defaults to every vendor that has any of its variables set in `env`.
   */
  vendors?: WidgetAuthVendors;
  /** Per-user (else per-IP) rate limit of every mounted router; see {@link WidgetAuthRateLimit}. Defaults to no limit. */
  rateLimit?: WidgetAuthRateLimit;
}

/** One route served by the router {@link widgetAuth} returns. */
export interface WidgetAuthRoute extends VendorRoute {
  /** The vendor whose router serves the route. */
  vendor: WidgetAuthVendor;
}

/** The router {@link widgetAuth} returns, with what it mounted. */
export type WidgetAuthRouter = Router & {
  /** The vendors mounted, in mounting order. */
  readonly mounted: readonly WidgetAuthVendor[];
  /** Every route served, for start-up logs and health pages. */
  readonly routes: readonly WidgetAuthRoute[];
};

/** How far a vendor is configured in an environment, from {@link detectWidgetAuthVendors}. */
export interface WidgetAuthVendorStatus {
  vendor: WidgetAuthVendor;
  /** Display name, e.g. `"Nevermined"`. */
  label: string;
  /** `configured`: every required variable set; `partial`: some variable set but a required one missing; `absent`: none set. */
  state: 'configured' | 'partial' | 'absent';
  /** Names of the vendor's variables that are set (non-blank), required or optional. */
  set: string[];
  /** Names of the required variables that are missing or blank. */
  missing: string[];
  /** Every variable the vendor reads. */
  variables: readonly EnvVariable[];
}

type AnyOptions = Record<string, unknown>;

/** Options `vendors` may not give for `vendor`, with the reason: those its variables set, and the vendor's own. */
function reservedOptions(vendor: WidgetAuthVendor): Record<string, string> {
  const descriptor = VENDORS_BY_NAME[vendor];
  return {
    ...Object.fromEntries(descriptor.variables.map((v) => [v.option, `comes from ${v.name}; set it in the environment instead`])),
    ...descriptor.reserved,
  };
}

function isStore(value: unknown): value is Store {
  return isRecord(value) && typeof value['increment'] === 'function';
}

const isSet = (value: string | undefined): boolean => value !== undefined && value.trim() !== '';

/**
 * Which vendors an environment configures, without mounting anything: for each vendor,
 * whether all its required variables are set (`configured`), only some of its variables
 * (`partial`, a configuration error for {@link widgetAuth}), or none (`absent`). Blank
 * values count as unset. Values are never read beyond that.
 *
 * @example
 * ```ts
 * const missing = detectWidgetAuthVendors().filter((s) => s.state === 'partial');
 * if (missing.length > 0) logger.warn({ vendors: missing.map((s) => s.label) }, 'widget vendors half configured');
 * ```
 */
export function detectWidgetAuthVendors(env: Record<string, string | undefined> = process.env): WidgetAuthVendorStatus[] {
  return WIDGET_AUTH_VENDORS.map((vendor) => {
    const plan = VENDORS_BY_NAME[vendor];
    const set = plan.variables.filter((v) => isSet(env[v.name])).map((v) => v.name);
    const missing = plan.variables.filter((v) => v.required && !isSet(env[v.name])).map((v) => v.name);
    const state = set.length === 0 ? 'absent' : missing.length === 0 ? 'configured' : 'partial';
    return { vendor, label: plan.label, state, set, missing, variables: plan.variables };
  });
}

const vendorEntry = z.custom<true | AnyOptions>((v) => v === true || isRecord(v), { message: 'must be true or an options object for that vendor' }).optional();

const commonRateLimit = commonOptionsShape.rateLimit.unwrap().shape;

const optionsSchema = z
  .object({
    resolveUser: resolveUserSchema,
    env: z.custom<Record<string, string | undefined>>(isRecord, { message: 'must be an object of variables, such as process.env' }).optional(),
    vendors: z
      .object(Object.fromEntries(WIDGET_AUTH_VENDORS.map((name) => [name, vendorEntry])))
      .strict()
      // only when the keys are known: `{ nevermind: true }` is a typo, not an empty selection
      .refine((v) => Object.values(v).some((entry) => entry !== undefined), { message: 'must name at least one vendor', when: (payload) => payload.issues.length === 0 })
      .optional(),
    allowedOrigins: commonOptionsShape.allowedOrigins,
    requireOrigin: commonOptionsShape.requireOrigin,
    cors: commonOptionsShape.cors,
    logger: commonOptionsShape.logger,
    report: commonOptionsShape.report,
    bodyLimit: commonOptionsShape.bodyLimit,
    allowWeakSecrets: z.boolean({ error: 'must be true or false' }).optional(),
    rateLimit: z
      .object({
        windowMs: commonRateLimit.windowMs,
        limit: commonRateLimit.limit,
        store: z
          .custom<Store | ((vendor: WidgetAuthVendor) => Store)>((v) => typeof v === 'function' || isStore(v), {
            message: 'must be an express-rate-limit store, or a function (vendor) => store',
          })
          .optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine(checkCommonOptions);

/** Options shared by every mounted router, exactly as the caller gave them (each router applies its own defaults). */
const COMMON_KEYS = ['allowedOrigins', 'requireOrigin', 'cors', 'logger', 'report', 'bodyLimit'] as const;

/**
 * Mount every vendor configured in the environment with one call. Returns one Express
 * router holding each vendor's router, built by that vendor's factory from its
 * `…ConfigFromEnv` variables plus the common options given here (`allowedOrigins`,
 * `requireOrigin`, `cors`, `rateLimit`, `logger`, `report`, `bodyLimit`).
 *
 * Which vendors: by default every vendor with any of its variables set (blank counts as
 * unset); with `vendors`, exactly the vendors named there. Everything is checked at
 * once, when `widgetAuth` is called, and every problem is reported together in one
 * {@link WidgetAuthConfigError}: each missing variable of every partly configured (or
 * named) vendor, each invalid value, each bad option; with nothing configured at all,
 * the variables each vendor needs. No secret value is ever part of the message.
 *
 * `resolveUser` goes to the routes that serve signed-in users only (Nevermined, Hissuno,
 * Wonderful, Intercom, Zendesk messaging, Stream Chat, Canny, Featurebase); Neut and Neuroon answer anonymous visitors unless `vendors` gives them a
 * `resolveUser`. The returned router lists what it mounted in `mounted` and `routes`.
 *
 * @example
 * ```ts
 * const widgets = widgetAuth({
 *   resolveUser: (req) => req.user ?? null,
 *   allowedOrigins: ['https://app.example.com'],
 *   vendors: { hissuno: true, wonderful: { expiresIn: 900 } },
 * });
 * app.use(widgets);
 * logger.info({ routes: widgets.routes.map((r) => r.path) }, 'widget routes mounted');
 * ```
 */
export function widgetAuth(options: WidgetAuthOptions): WidgetAuthRouter {
  rejectMisuse('widgetAuth', options);
  const problems: string[] = [];
  let top: z.output<typeof optionsSchema> | undefined;
  try {
    top = parseOptions('widgetAuth', optionsSchema, options);
  } catch (err) {
    if (!(err instanceof WidgetAuthConfigError)) throw err;
    // a function or non-object cannot be read further
    if (!isRecord(options)) throw err;
    problems.push(...err.problems);
  }
  const raw = options as unknown as Record<string, unknown>;
  // an unreadable env is already reported; guessing another one would only add noise
  if (raw['env'] !== undefined && !isRecord(raw['env'])) throw new WidgetAuthConfigError('widgetAuth', problems);
  const env = top?.env ?? (raw['env'] as Record<string, string | undefined> | undefined) ?? process.env;
  const named = top?.vendors ?? (isRecord(raw['vendors']) ? (raw['vendors'] as WidgetAuthVendors) : undefined);

  const statuses = detectWidgetAuthVendors(env);
  const chosen = named
    ? statuses.filter((s) => named[s.vendor] !== undefined)
    : statuses.filter((s) => s.state !== 'absent');

  const noVendor = !named && chosen.length === 0;
  if (noVendor) {
    for (const s of statuses) {
      const required = s.variables.filter((v) => v.required).map((v) => v.name);
      const optional = s.variables.filter((v) => !v.required).map((v) => v.name);
      // a vendor without a required variable takes one of its variables (Intercom: one secret per mode)
      const what = required.length > 0 ? `${required.join(', ')}${optional.length ? ` (optionally ${optional.join(', ')})` : ''}` : `one of ${optional.join(', ')}`;
      problems.push(`no vendor is configured: for ${s.label} set ${what}`);
    }
  }

  const fromEnv = new Map<WidgetAuthVendor, AnyOptions>();
  for (const s of chosen) {
    const why = named ? `${s.label} is named in vendors` : `${s.label} is partly configured: ${s.set.join(', ')} ${s.set.length === 1 ? 'is' : 'are'} set`;
    for (const name of s.missing) problems.push(`${name}: is not set (${why})`);
    try {
      // the opt-out travels with each vendor's options from the environment to its router
      fromEnv.set(s.vendor, VENDORS_BY_NAME[s.vendor].fromEnv(env, { allowWeakSecrets: raw['allowWeakSecrets'] === true }));
    } catch (err) {
      if (!(err instanceof WidgetAuthConfigError)) throw err;
      // missing variables are already reported above, with their context
      problems.push(...err.problems.filter((p) => !s.missing.some((name) => p.startsWith(`${name}:`))));
    }
  }
  if (problems.length > 0 || top === undefined) {
    // one problem, told per vendor (alone: other problems keep the count): a count of its lines would read as 18 problems
    const alone = noVendor && problems.length === statuses.length;
    throw new WidgetAuthConfigError('widgetAuth', problems, alone ? 'no vendor is configured; set the variables of at least one of these vendors' : undefined);
  }

  const common: AnyOptions = {};
  for (const key of COMMON_KEYS) if (raw[key] !== undefined) common[key] = raw[key];

  const built: Router[] = [];
  const routes: WidgetAuthRoute[] = [];
  const secrets: string[] = [];
  const stores = new Map<Store, WidgetAuthVendor>();
  for (const s of chosen) {
    const plan = VENDORS_BY_NAME[s.vendor];
    const reserved = reservedOptions(s.vendor);
    const entry = named?.[s.vendor];
    const extra: AnyOptions = isRecord(entry) ? Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) : {};
    let usable = true;
    for (const key of Object.keys(extra)) {
      const reason = reserved[key] ?? (key === 'allowWeakSecrets' ? 'give it to widgetAuth itself: it applies to the secrets read from the environment' : undefined);
      if (reason !== undefined) {
        problems.push(`vendors.${s.vendor}.${key}: ${reason}`);
        usable = false;
      }
    }

    let rateLimit = extra['rateLimit'] as WidgetAuthRateLimit | undefined;
    if (rateLimit === undefined && top.rateLimit) {
      const { store, ...window } = top.rateLimit;
      rateLimit = store === undefined ? window : { ...window, store: typeof store === 'function' ? store(s.vendor) : store };
    }
    const store = rateLimit?.store;
    if (isStore(store)) {
      const other = stores.get(store);
      if (other !== undefined) {
        problems.push(
          `rateLimit.store: one store instance cannot count for both ${other} and ${s.vendor} (express-rate-limit refuses a shared store); pass a function (vendor) => store returning a new store, each with its own prefix`,
        );
        usable = false;
      } else stores.set(store, s.vendor);
    }
    if (!usable) continue;

    const routerOptions: AnyOptions = {
      ...common,
      ...(plan.signedInOnly ? { resolveUser: top.resolveUser } : {}),
      ...fromEnv.get(s.vendor),
      ...extra,
      ...(rateLimit ? { rateLimit } : {}),
    };
    for (const key of plan.secretOptions) if (typeof routerOptions[key] === 'string') secrets.push(routerOptions[key] as string);
    try {
      built.push(plan.build(routerOptions));
    } catch (err) {
      if (!(err instanceof WidgetAuthConfigError)) throw err;
      problems.push(
        ...err.problems.map((p) => {
          // a required hook cannot come from the environment: the problem names it, the hint says where it goes
          const hook = plan.requiredHooks?.find((name) => p.startsWith(`${name}:`) && !Object.hasOwn(routerOptions, name));
          return `${plan.factory}: ${p}${hook === undefined ? '' : `; give it in widgetAuth({ vendors: { ${s.vendor}: { ${hook} } } })`}`;
        }),
      );
      continue;
    }
    for (const route of plan.routes(routerOptions)) {
      const clash = routes.find((r) => r.path === route.path);
      if (clash) problems.push(`${s.vendor}: path ${route.path} is already served by ${clash.vendor}; give one of them another path in vendors`);
      routes.push({ vendor: s.vendor, ...route });
    }
  }
  if (problems.length > 0) throw new WidgetAuthConfigError('widgetAuth', problems);

  const router = express.Router();
  // a hook's error may quote any vendor's secret: each router redacts them all
  for (const vendorRouter of built) shareSecrets(vendorRouter, secrets);
  for (const vendorRouter of built) router.use(vendorRouter);
  chainDirectly(router, built);
  const mounted = Object.freeze(chosen.map((s) => s.vendor));
  return Object.defineProperties(router, {
    mounted: { value: mounted, enumerable: true },
    routes: { value: Object.freeze(routes.map((r) => Object.freeze(r))), enumerable: true },
  }) as WidgetAuthRouter;
}

guardFactory(widgetAuth, 'widgetAuth', 'app.use(widgetAuth({ resolveUser }))');
