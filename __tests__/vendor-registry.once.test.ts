import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as lib from '../lib';
import { VENDOR_REGISTRY } from '../lib/vendors';
import { REPOSITORY_URL } from './helpers/docs-blocks';

/**
 * The vendor registry (`lib/vendors.ts`) is the one list of vendors: `widgetAuth` and
 * `detectWidgetAuthVendors` are driven from it, and `.env.example`, the OpenAPI document
 * and the README's vendor pages are checked against it here, so a vendor added to the
 * registry without them (or removed from it and left in them) fails.
 */

const ROOT = join(__dirname, '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

/** The variables `.env.example` lists (`NAME=` lines), outside its demo section. */
function exampleVariables(): string[] {
  const text = read('.env.example');
  const vendorsPart = text.split(/^# --- Demo app/m)[0]!;
  return [...vendorsPart.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
}

const EMPTY_ENV = {};

describe('the vendor registry', () => {
  const names = VENDOR_REGISTRY.map((d) => d.name);

  it('lists each vendor once, in the order widgetAuth mounts them', () => {
    expect(new Set(names).size).toBe(names.length);
    expect(lib.WIDGET_AUTH_VENDORS).toEqual(names);
    expect(lib.detectWidgetAuthVendors(EMPTY_ENV).map((s) => s.vendor)).toEqual(names);
  });

  it.each(VENDOR_REGISTRY.map((d) => [d.name, d] as const))('%s: its factory and …ConfigFromEnv are exported, and its variables are what detectWidgetAuthVendors reads', (name, descriptor) => {
    expect(typeof (lib as Record<string, unknown>)[descriptor.factory]).toBe('function');
    const status = lib.detectWidgetAuthVendors(EMPTY_ENV).find((s) => s.vendor === name)!;
    expect(status.label).toBe(descriptor.label);
    expect(status.variables).toEqual(descriptor.variables);
    // every variable a vendor reads goes to an option the vendor's router takes from the environment
    expect(descriptor.variables.length).toBeGreaterThan(0);
    // a vendor with no required variable takes one of several (Intercom: one secret per mode), which its …ConfigFromEnv checks
    expect(descriptor.variables.some((v) => v.required) || descriptor.variables.length > 1).toBe(true);
  });

  it('widgetAuth takes exactly the registry’s names in vendors', () => {
    let problems: readonly string[] = [];
    try {
      lib.widgetAuth({ resolveUser: () => null, env: EMPTY_ENV, vendors: { nevermind: true } as never });
    } catch (err) {
      problems = (err as InstanceType<typeof lib.WidgetAuthConfigError>).problems;
    }
    expect(problems.join('\n')).toMatch(/vendors\.nevermind: unknown option \(did you mean `nevermined`\?\)/);
  });

  it('.env.example has every variable of every vendor, and none of a vendor that is not registered', () => {
    const listed = exampleVariables();
    const registered = VENDOR_REGISTRY.flatMap((d) => d.variables.map((v) => v.name));
    expect([...listed].sort()).toEqual([...registered].sort());
  });

  it('the OpenAPI document has every default route of every vendor, with the methods it serves, and no route of an unregistered one', () => {
    type Operation = { responses?: Record<string, unknown> };
    const paths = (parse(read('docs/openapi.yaml')) as { paths: Record<string, Record<string, Operation>> }).paths;
    // a method is served when it has a success answer (the others are documented as 405)
    const served = (operation: Operation | undefined) => Object.keys(operation?.responses ?? {}).some((status) => /^2\d\d$/.test(status));
    const expected = new Map<string, string[]>();
    for (const descriptor of VENDOR_REGISTRY) {
      for (const route of descriptor.routes({})) expected.set(route.path, route.methods.map((m) => m.toLowerCase()).sort());
    }
    const documented = new Map(
      Object.entries(paths).map(([path, item]) => [path, Object.keys(item).filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k) && served(item[k])).sort()] as const),
    );
    expect(documented).toEqual(expected);
  });

  it.each(VENDOR_REGISTRY.map((d) => [d.name, d] as const))('%s: its page exists and the README links it in the list of vendors', (_name, descriptor) => {
    expect(existsSync(join(ROOT, descriptor.docs))).toBe(true);
    const vendorsLine = read('README.md')
      .split('\n')
      .find((line) => line.startsWith('- Vendors:'));
    expect(vendorsLine).toBeDefined();
    expect(vendorsLine).toContain(`[${descriptor.label}](${REPOSITORY_URL}/blob/main/${descriptor.docs})`);
  });
});
