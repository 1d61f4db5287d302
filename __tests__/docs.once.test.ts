import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import ts from 'typescript';
import * as lib from '../lib';
import { DEFAULT_STATUS } from '../lib/core/errors';
import type { EnvVariable } from '../lib';
import { REPOSITORY_URL, anchors, docPages, links } from './helpers/docs-blocks';

/**
 * Every public name must be documented: each export of the package's two entry points
 * (values and types), each option of each exported `…Options` type (router factories,
 * widgetAuth, the helpers and the fakes), each environment variable and each error code
 * must appear in code formatting (`name`, or inside a code block) in README.md or
 * docs/*.md. Names are read from the code itself, so a new option or code fails here
 * until someone documents it.
 */

const ROOT = join(__dirname, '..');
const ENTRY_POINTS = { 'express-widget-auth': join(ROOT, 'lib', 'index.ts'), 'express-widget-auth/testing': join(ROOT, 'lib', 'testing', 'index.ts') };

const docFiles = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const markdown = docFiles.map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');

/** The text of every code span and fenced code block: where names are documented. */
const code = (() => {
  const blocks: string[] = [];
  const prose = markdown.replace(/^(```|~~~)[^\n]*\n([\s\S]*?)^\1[ \t]*$/gm, (_m, _fence, body: string) => {
    blocks.push(body);
    return '\n';
  });
  for (const m of prose.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)) blocks.push(m[2]!);
  return blocks.join('\n');
})();

function documented(name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w$])${escaped}(?![\\w$])`).test(code);
}

/** Exports of each entry point, values and types, and the checker to look into them. */
const program = ts.createProgram(Object.values(ENTRY_POINTS), {
  module: ts.ModuleKind.Node16,
  moduleResolution: ts.ModuleResolutionKind.Node16,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node'],
});
const checker = program.getTypeChecker();
const exportsOf = (file: string): ts.Symbol[] => {
  const source = program.getSourceFile(file)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(source)!);
};
const resolved = (symbol: ts.Symbol): ts.Symbol => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);

describe('documentation completeness (README.md and docs/*.md)', () => {
  it('mentions every export of both entry points, values and types', () => {
    const missing: string[] = [];
    let count = 0;
    for (const [entry, file] of Object.entries(ENTRY_POINTS)) {
      for (const symbol of exportsOf(file)) {
        count++;
        if (!documented(symbol.name)) missing.push(`${symbol.name} (from ${entry})`);
      }
    }
    expect(count).toBeGreaterThan(100);
    expect(missing).toEqual([]);
  });

  it('finds the runtime exports among the declared ones', () => {
    // guards the type-level enumeration above against a broken program
    const declared = new Set(exportsOf(ENTRY_POINTS['express-widget-auth']).map((s) => s.name));
    expect(Object.keys(lib).filter((name) => !declared.has(name))).toEqual([]);
    expect(Object.keys(lib).length).toBeGreaterThan(60);
  });

  it('mentions every option of every exported options type (routers, widgetAuth, helpers, fakes)', () => {
    const missing: string[] = [];
    const seen: string[] = [];
    for (const file of Object.values(ENTRY_POINTS)) {
      for (const symbol of exportsOf(file)) {
        if (!/Options$/.test(symbol.name)) continue;
        const target = resolved(symbol);
        if (!(target.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias))) continue;
        const type = checker.getDeclaredTypeOfSymbol(target);
        for (const property of checker.getPropertiesOfType(type)) {
          seen.push(`${symbol.name}.${property.name}`);
          if (!documented(property.name)) missing.push(`${symbol.name}.${property.name}`);
        }
      }
    }
    for (const router of ['HissunoTokenRouterOptions', 'NeverminedSessionRouterOptions', 'NeuroonTokenRouterOptions', 'NeutEmbedParamsRouterOptions', 'WonderfulTokenRouterOptions', 'WidgetAuthOptions']) {
      expect(seen.filter((s) => s.startsWith(`${router}.`)).length).toBeGreaterThan(5);
    }
    expect(missing).toEqual([]);
  });

  it('mentions every environment variable of every vendor, in the docs and in .env.example', () => {
    const lists = Object.entries(lib).filter(([name, value]) => name.endsWith('_ENV') && Array.isArray(value)) as [string, EnvVariable[]][];
    expect(lists.map(([name]) => name).sort()).toEqual(['CANNY_ENV', 'CHATWOOT_ENV', 'CRISP_ENV', 'FEATUREBASE_ENV', 'FRONT_CHAT_ENV', 'HELPSCOUT_ENV', 'HISSUNO_ENV', 'HUBSPOT_ENV', 'INTERCOM_ENV', 'LIVEBLOCKS_ENV', 'NEUROON_ENV', 'NEUT_ENV', 'NEVERMINED_ENV', 'PLAIN_CHAT_ENV', 'PUSHER_ENV', 'STREAM_ENV', 'WONDERFUL_ENV', 'ZENDESK_ENV']);
    const variables = lists.flatMap(([, list]) => list.map((v) => v.name));
    expect(variables).toHaveLength(35);
    expect(variables.filter((name) => !documented(name))).toEqual([]);
    const example = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const assigned = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => m[1]!));
    expect(variables.filter((name) => !assigned.has(name))).toEqual([]);
    // values are left blank: nothing that looks like a credential ships in the example
    expect([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.+)$/gm)].map((m) => m[1])).toEqual([]);
  });

  it('mentions every error code', () => {
    const codes = Object.keys(DEFAULT_STATUS);
    expect(codes.length).toBeGreaterThan(15);
    expect(codes.filter((c) => !documented(c))).toEqual([]);
  });

  it('links every docs page from the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const pages = readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md') || f.endsWith('.yaml'));
    expect(pages.filter((page) => !readme.includes(`](${REPOSITORY_URL}/blob/main/docs/${page})`))).toEqual([]);
  });
});

describe('links of README.md and docs/*.md', () => {
  const all = docPages().flatMap(links);
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (file: string): Set<string> => {
    if (!anchorsOf.has(file)) anchorsOf.set(file, anchors(readFileSync(join(ROOT, file), 'utf8')));
    return anchorsOf.get(file)!;
  };
  /** What is wrong with a link to `file#anchor` in the repository, or undefined. */
  const broken = (file: string, anchor: string | undefined): string | undefined => {
    if (!existsSync(join(ROOT, file))) return `no file ${file}`;
    if (anchor !== undefined && file.endsWith('.md') && !anchorsIn(file).has(decodeURIComponent(anchor))) return `no heading #${anchor} in ${file}`;
    return undefined;
  };

  it('points the README at the repository with absolute URLs, so that its links also work on the registry page', () => {
    // npm renders README.md alone: a relative link there leads nowhere
    const relative = all.filter((l) => l.page === 'README.md' && !/^(?:[a-z]+:|#)/i.test(l.target));
    expect(relative.map((l) => `README.md:${l.line} ${l.target}`)).toEqual([]);
    expect(all.filter((l) => l.page === 'README.md' && l.target.startsWith(`${REPOSITORY_URL}/blob/main/docs/`)).length).toBeGreaterThan(10);
  });

  it('resolves every link into the repository to a real file and heading', () => {
    const problems: string[] = [];
    for (const { page, line, target } of all) {
      let file: string | undefined;
      let anchor: string | undefined;
      if (target.startsWith(`${REPOSITORY_URL}/blob/main/`)) [file, anchor] = target.slice(`${REPOSITORY_URL}/blob/main/`.length).split('#');
      else if (target.startsWith('#')) [file, anchor] = [page, target.slice(1)];
      else if (!/^[a-z]+:/i.test(target)) {
        const [path, hash] = target.split('#');
        [file, anchor] = [join(dirname(page), path!).split(sep).join('/'), hash];
      }
      const problem = file === undefined ? undefined : broken(file, anchor);
      if (problem) problems.push(`${page}:${line} ${target}: ${problem}`);
    }
    expect(all.length).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });
});
