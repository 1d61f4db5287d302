import type { Router } from 'express';
import type { EnvVariable, WeakSecretOption } from './config';

/** A route a vendor's router serves: its path and methods. */
export interface VendorRoute {
  /** The route path, e.g. `/api/hissuno-token`. */
  path: string;
  /** The methods it serves; any other method answers 405. */
  methods: readonly ('GET' | 'POST')[];
}

/**
 * Everything `widgetAuth`, `detectWidgetAuthVendors` and the checks of the documentation
 * need to know about one vendor: one object per vendor folder (`lib/<vendor>/vendor.ts`),
 * listed once in `lib/vendors.ts`.
 *
 * `Extra` is the type of the options `widgetAuth({ vendors: { [name]: … } })` takes for
 * the vendor; it exists in the type only.
 */
export interface VendorDescriptor<Name extends string = string, Extra = unknown> {
  /** The vendor's key in `widgetAuth`'s `vendors` option, in routes and in log events. */
  readonly name: Name;
  /** Display name, e.g. `"Nevermined"`. */
  readonly label: string;
  /** The exported name of the router factory, for messages. */
  readonly factory: string;
  /** The vendor's page of the documentation, from the repository root. */
  readonly docs: string;
  /** The environment variables its `…ConfigFromEnv` function reads. */
  readonly variables: readonly EnvVariable[];
  /** Its `…ConfigFromEnv` function. */
  fromEnv(env: Record<string, string | undefined>, options: WeakSecretOption): Record<string, unknown>;
  /** Its router factory; the router validates its own options. */
  build(options: Record<string, unknown>): Router;
  /** Whether the route serves signed-in users only (then `widgetAuth` passes its `resolveUser` on). */
  readonly signedInOnly: boolean;
  /** Options `widgetAuth` may not pass on from `vendors`, besides those the variables set, with the reason. */
  readonly reserved?: Readonly<Record<string, string>>;
  /** The options that hold a secret: every router mounted together redacts all of them. */
  readonly secretOptions: readonly string[];
  /**
   * Hooks the router requires that no environment variable can give (Pusher's `canJoin`):
   * when one is missing, `widgetAuth` says to give it in `vendors`.
   */
  readonly requiredHooks?: readonly string[];
  /** The routes a router built with `options` serves. */
  routes(options: Record<string, unknown>): VendorRoute[];
  /** Type only: the extra options `widgetAuth` takes for this vendor. */
  readonly extraOptions?: Extra;
}

/**
 * Declare a vendor. `build` and `fromEnv` take the vendor's own option types; the casts
 * from `widgetAuth`'s untyped options are safe because every router validates its
 * options and throws `WidgetAuthConfigError` otherwise.
 */
export function defineVendor<Name extends string, Options, Extra>(descriptor: {
  name: Name;
  label: string;
  factory: string;
  docs: string;
  variables: readonly EnvVariable[];
  fromEnv(env: Record<string, string | undefined>, options: WeakSecretOption): object;
  build(options: Options): Router;
  signedInOnly: boolean;
  reserved?: Record<string, string>;
  secretOptions: readonly (keyof Options & string)[];
  requiredHooks?: readonly (keyof Options & string)[];
  routes(options: Partial<Options>): VendorRoute[];
}): VendorDescriptor<Name, Extra> {
  return {
    ...descriptor,
    fromEnv: (env, options) => ({ ...descriptor.fromEnv(env, options) }),
    build: (options) => descriptor.build(options as Options),
    routes: (options) => descriptor.routes(options as Partial<Options>),
  };
}

/** `options[key]` when it is a string, else `fallback`: a router's path as configured. */
export function pathOption(options: object, key: string, fallback: string): string {
  const value = (options as Record<string, unknown>)[key];
  return typeof value === 'string' ? value : fallback;
}
