import { z } from 'zod';
import { closestName, parseOptions } from '../core/config';

/**
 * Which field rules validate a widget's request:
 * - `bill-preview`: `bill_type`, `bill_number`, `congress`, `temp_text_url`, `temp_title`;
 * - `vote-breakdown`: `congress`, `page`, `limit` and House-only member filters;
 * - `legislation-by-subject`: `subject`, `status_filter`, `congress`, `page`, `limit`,
 *   member filters and the two `show_…_filter` switches;
 * - `common`: only `widget_id`, `instance_id`, `article_id` and `colorway`.
 */
export type NeutWidgetRules = 'bill-preview' | 'vote-breakdown' | 'legislation-by-subject' | 'common';

/** One entry of the widget table. */
export interface NeutWidgetDefinition {
  /** Path of the widget's embed page on `widgetOrigin`, e.g. `/bill-preview-embed.html`. Required for a new widget. */
  path?: string;
  /** Field rules applied to the widget's requests. Defaults to the built-in widget's own rules, `common` for a new widget. */
  rules?: NeutWidgetRules;
  /** Accepted `colorway` values; must include `Default`. Defaults to {@link NEUT_COLORWAYS}. */
  colorways?: readonly string[];
  /** Accepted `subject` values (`legislation-by-subject` rules only). Defaults to {@link NEUT_SUBJECTS}. */
  subjects?: readonly string[];
  /** Accepted `status_filter` values (`legislation-by-subject` rules only); must include `All`. Defaults to {@link NEUT_STATUS_FILTERS}. */
  statusFilters?: readonly string[];
}

/**
 * The `widgets` option: entries merged over {@link NEUT_DEFAULT_WIDGETS} by widget id.
 * An entry for a built-in id overrides only the fields it sets; a new id adds a widget
 * (its `path` is required); `false` removes a built-in widget. Lists replace the
 * default list (spread the exported default to extend it).
 *
 * @example
 * ```ts
 * const widgets: NeutWidgetsOption = {
 *   'my-widget': { path: '/my-widget-embed.html' },
 *   'legislation-by-subject': { subjects: [...NEUT_SUBJECTS, 'Science'] },
 *   'vote-breakdown': false,
 * };
 * ```
 */
export type NeutWidgetsOption = Readonly<Record<string, NeutWidgetDefinition | false>>;

/** Subjects the `legislation-by-subject` widget accepts by default. */
export const NEUT_SUBJECTS: readonly string[] = Object.freeze([
  'Animals & Agriculture',
  'Business & Trade',
  'Crime',
  'Culture and Society',
  'Education',
  'Energy & Conservation',
  'Finance & Taxes',
  'Geopolitics',
  'Government Operations',
  'Health & Social Welfare',
  'Human, Civil, & Immigration Rights',
  'Infrastructure & Housing',
  'Labor & Employment',
  'National Security & International Affairs',
  'STEM',
]);

/** `status_filter` values the `legislation-by-subject` widget accepts by default. */
export const NEUT_STATUS_FILTERS: readonly string[] = Object.freeze([
  'All',
  'Introduced',
  'With First Chamber',
  'With Second Chamber',
  'Presented to President',
  'Became Law',
  'Vetoed by President',
  'Passed Resolutions',
]);

/** `colorway` values every widget accepts by default. */
export const NEUT_COLORWAYS: readonly string[] = Object.freeze(['Default', 'Dark', 'Paper', 'WashedSage', 'Slate', 'MonoLight']);

/** The three documented public-data widgets and their embed pages. */
export const NEUT_DEFAULT_WIDGETS: Readonly<Record<string, Readonly<NeutWidgetDefinition>>> = Object.freeze({
  'bill-preview': Object.freeze({ path: '/bill-preview-embed.html', rules: 'bill-preview' as const }),
  'vote-breakdown': Object.freeze({ path: '/vote-breakdown-embed.html', rules: 'vote-breakdown' as const }),
  'legislation-by-subject': Object.freeze({ path: '/legislation-by-subject-embed.html', rules: 'legislation-by-subject' as const }),
});

/** A widget of the resolved table, with its lists as sets for per-request lookups. */
export interface NeutWidget {
  readonly id: string;
  readonly path: string;
  readonly rules: NeutWidgetRules;
  readonly colorways: ReadonlySet<string>;
  readonly subjects: ReadonlySet<string>;
  readonly statusFilters: ReadonlySet<string>;
}

/** The resolved widget table, keyed by widget id (a Map, so that `constructor` or `__proto__` is never a widget). */
export type NeutWidgetTable = ReadonlyMap<string, NeutWidget>;

const RULES = ['bill-preview', 'vote-breakdown', 'legislation-by-subject', 'common'] as const;
// dots would blur the fields of the dot-joined canonical string
const WIDGET_ID = /^[A-Za-z0-9_-]{1,64}$/;

const list = (what: string) =>
  z
    .array(z.string({ error: `each ${what} must be a string` }).trim().min(1, `each ${what} must be non-empty`), { error: `must be an array of ${what}s` })
    .min(1, 'must not be empty');

const definitionSchema = z
  .object({
    path: z
      .string({ error: 'must be a string' })
      .regex(/^\/(?!\/)[^\s?#\\]*$/, 'must be a path starting with "/" with no query, fragment or white space')
      .optional(),
    rules: z.enum(RULES, { error: `must be one of ${RULES.map((r) => `"${r}"`).join(', ')}` }).optional(),
    colorways: list('colorway')
      .refine((l) => l.includes('Default'), 'must include "Default" (used when a request names no colorway)')
      .optional(),
    subjects: list('subject').optional(),
    statusFilters: list('status filter')
      .refine((l) => l.includes('All'), 'must include "All" (used when a request names no status_filter)')
      .optional(),
  })
  .strict();

const DEFINITION_KEYS = Object.keys(definitionSchema.shape);

/** zod schema of the `widgets` option: reports each problem under `widgets.<id>.<field>`. */
export const neutWidgetsSchema = z
  .record(z.string(), z.unknown(), { error: 'must be an object keyed by widget id' })
  .superRefine((widgets, ctx) => {
    for (const [id, definition] of Object.entries(widgets)) {
      if (!WIDGET_ID.test(id)) {
        ctx.addIssue({ code: 'custom', path: [id], message: 'widget ids use only letters, digits, "_" and "-" (at most 64)' });
      }
      const builtIn = Object.hasOwn(NEUT_DEFAULT_WIDGETS, id) ? NEUT_DEFAULT_WIDGETS[id] : undefined;
      if (definition === false) {
        if (!builtIn) ctx.addIssue({ code: 'custom', path: [id], message: '`false` removes a built-in widget, and there is none with this id' });
        continue;
      }
      const parsed = definitionSchema.safeParse(definition);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          if (issue.code === 'unrecognized_keys') {
            for (const key of issue.keys) {
              const hint = closestName(key, DEFINITION_KEYS);
              ctx.addIssue({ code: 'custom', path: [id, key], message: `unknown option${hint ? ` (did you mean \`${hint}\`?)` : ''}` });
            }
          } else {
            const message = issue.path.length === 0 ? 'must be a widget definition object or false' : issue.message;
            ctx.addIssue({ code: 'custom', path: [id, ...issue.path], message });
          }
        }
        continue;
      }
      const merged = { ...builtIn, ...parsed.data };
      if (merged.path === undefined) ctx.addIssue({ code: 'custom', path: [id, 'path'], message: 'is required for a new widget' });
      const rules = merged.rules ?? 'common';
      if (rules !== 'legislation-by-subject') {
        for (const key of ['subjects', 'statusFilters'] as const) {
          if (parsed.data[key]) ctx.addIssue({ code: 'custom', path: [id, key], message: 'applies only to widgets with rules "legislation-by-subject"' });
        }
      }
    }
  })
  // hand on the parsed definitions (trimmed list entries), not the raw input
  .transform((widgets): Record<string, NeutWidgetDefinition | false> =>
    Object.fromEntries(Object.entries(widgets).map(([id, d]) => [id, d === false ? false : definitionSchema.parse(d)])),
  );

const DEFAULT_COLORWAYS = new Set(NEUT_COLORWAYS);
const DEFAULT_SUBJECTS = new Set(NEUT_SUBJECTS);
const DEFAULT_STATUS_FILTERS = new Set(NEUT_STATUS_FILTERS);

/**
 * Resolve a `widgets` option that passed {@link neutWidgetsSchema} into the table the
 * validator and the signer look widgets up in.
 */
export function buildNeutWidgetTable(widgets: Readonly<Record<string, NeutWidgetDefinition | false>> = {}): NeutWidgetTable {
  const table = new Map<string, NeutWidget>();
  const ids = new Set([...Object.keys(NEUT_DEFAULT_WIDGETS), ...Object.keys(widgets)]);
  for (const id of ids) {
    const override = Object.hasOwn(widgets, id) ? widgets[id] : undefined;
    if (override === false) continue;
    const builtIn = Object.hasOwn(NEUT_DEFAULT_WIDGETS, id) ? NEUT_DEFAULT_WIDGETS[id] : undefined;
    const d: NeutWidgetDefinition = { ...builtIn, ...override };
    table.set(id, {
      id,
      path: d.path!,
      rules: d.rules ?? 'common',
      colorways: d.colorways ? new Set(d.colorways) : DEFAULT_COLORWAYS,
      subjects: d.subjects ? new Set(d.subjects) : DEFAULT_SUBJECTS,
      statusFilters: d.statusFilters ? new Set(d.statusFilters) : DEFAULT_STATUS_FILTERS,
    });
  }
  return table;
}

/** Longest list of valid ids an error message carries, in characters, before "and N more". */
const ID_LIST_MAX = 200;
const idLists = new WeakMap<NeutWidgetTable, string>();

/** The table's ids, comma-separated, cut after about {@link ID_LIST_MAX} characters; made once per table. */
function idList(table: NeutWidgetTable): string {
  let list = idLists.get(table);
  if (list === undefined) {
    const ids = [...table.keys()];
    let shown = 0;
    let length = 0;
    while (shown < ids.length && (shown === 0 || length + ids[shown]!.length <= ID_LIST_MAX)) length += ids[shown++]!.length + 2;
    list = ids.length === 0 ? 'none (every widget is removed)' : ids.slice(0, shown).join(', ') + (shown < ids.length ? ` and ${ids.length - shown} more` : '');
    idLists.set(table, list);
  }
  return list;
}

/**
 * The message for a `widget_id` the table does not hold: the documented
 * `Unsupported widget_id.`, the closest id when it looks like a typo of one, and the
 * valid ids (public widget names, at most about 200 characters of them). The value
 * sent is never repeated.
 */
export function unsupportedWidgetMessage(widgetId: string, table: NeutWidgetTable): string {
  // ids are at most 64 characters: a longer value is no typo of one, and is not worth the distance
  const hint = widgetId.length <= 80 ? closestName(widgetId, [...table.keys()]) : undefined;
  return `Unsupported widget_id.${hint ? ` Did you mean "${hint}"?` : ''} Valid ids: ${idList(table)}.`;
}

/** The table of the three built-in widgets. */
export const DEFAULT_NEUT_WIDGET_TABLE: NeutWidgetTable = buildNeutWidgetTable();

const standaloneSchema = z.object({ widgets: neutWidgetsSchema }).strict();
const resolved = new WeakMap<object, NeutWidgetTable>();

/**
 * The table for a `widgets` option passed to a standalone function, checked and built
 * once per options object. Throws {@link WidgetAuthConfigError} when it is invalid.
 */
export function neutWidgetTableFor(subject: string, widgets: NeutWidgetsOption | undefined): NeutWidgetTable {
  if (widgets === undefined) return DEFAULT_NEUT_WIDGET_TABLE;
  const cached = typeof widgets === 'object' && widgets !== null ? resolved.get(widgets) : undefined;
  if (cached) return cached;
  const parsed = parseOptions(subject, standaloneSchema, { widgets });
  const table = buildNeutWidgetTable(parsed.widgets);
  resolved.set(widgets, table);
  return table;
}
