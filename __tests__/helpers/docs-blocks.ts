/**
 * The code blocks of the documentation (README.md and docs/*.md), and the links between
 * its pages: read by the documentation tests. Conventions for blocks are described in
 * `__tests__/fixtures/consumer/README.md`.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

const PACKAGE = 'express-widget-auth';

/** The public repository: where links from the registry's README page point. */
export const REPOSITORY_URL = 'https://github.com/express-widget-auth/express-widget-auth';

/** README.md and every docs/*.md, relative to the repository root. */
export function docPages(): string[] {
  return ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

export interface DocBlock {
  /** Where the block is, e.g. `README.md:28` (the line of the opening fence). */
  where: string;
  page: string;
  line: number;
  lang: 'ts' | 'js';
  code: string;
  /** The reason given by a `// docs-test: skip — <why>` line, if the block opts out. */
  skip?: string;
}

const LANGS: Record<string, 'ts' | 'js'> = { ts: 'ts', typescript: 'ts', js: 'js', javascript: 'js' };

/** Fenced code blocks of `text` whose language is ts/typescript/js/javascript. */
export function codeBlocks(text: string, page: string, firstLine = 1): DocBlock[] {
  const blocks: DocBlock[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !new RegExp(`^\\s*${fence![0]}{${fence!.length},}\\s*$`).test(lines[i]!); i++) body.push(lines[i]!.slice(Math.min(indent!.length, /^\s*/.exec(lines[i]!)![0].length)));
    const lang = LANGS[info!.toLowerCase()];
    if (!lang) continue;
    const code = body.join('\n');
    const skip = /\/\/\s*docs-test:\s*skip\b\s*[-—–:]*\s*(.*)$/m.exec(code);
    const line = firstLine + start;
    blocks.push({ where: `${page}:${line}`, page, line, lang, code, ...(skip ? { skip: skip[1]!.trim() } : {}) });
  }
  return blocks;
}

/** The ts/js blocks of one page of the documentation. */
export function docBlocks(page: string): DocBlock[] {
  return codeBlocks(readFileSync(path.join(ROOT, page), 'utf8'), page);
}

/** The ```ts blocks of the `@example` tags of a declaration file (TSDoc as shipped). */
export function tsdocExamples(text: string, file: string): DocBlock[] {
  const examples: DocBlock[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    if (!comment[0].includes('@example')) continue;
    const firstLine = text.slice(0, comment.index).split('\n').length;
    const unstarred = comment[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?\s?/, '').replace(/\*\/\s*$/, ''));
    examples.push(...codeBlocks(unstarred.join('\n'), file, firstLine));
  }
  return examples;
}

/**
 * The anchors GitHub gives a page's headings (github-slugger: lower case, punctuation
 * dropped, spaces to hyphens, repeats numbered) plus explicit `<a id|name="…">`.
 */
export function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  const counts = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
  for (const m of withoutCode.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = m[1]!
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : ''));
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(m[1]!);
  return found;
}

export interface DocLink {
  page: string;
  line: number;
  target: string;
}

/** Every Markdown link `[text](target)` and `<…>`-less HTML `href` of a page, outside code. */
export function links(page: string): DocLink[] {
  const text = readFileSync(path.join(ROOT, page), 'utf8');
  const result: DocLink[] = [];
  let inFence = false;
  text.split('\n').forEach((raw, i) => {
    if (/^\s*(```|~~~)/.test(raw)) inFence = !inFence;
    if (inFence) return;
    const line = raw.replace(/`[^`]*`/g, '');
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) result.push({ page, line: i + 1, target: m[1]! });
    for (const m of line.matchAll(/\bhref="([^"]+)"/g)) result.push({ page, line: i + 1, target: m[1]! });
  });
  return result;
}

/** The names both entry points export (values and types), read from the installed declarations. */
function exportedNames(dir: string, host: ts.CompilerHost, options: ts.CompilerOptions): Map<string, string> {
  const probe = path.join(dir, 'exports-probe.mts');
  writeFileSync(probe, `import * as main from '${PACKAGE}';\nimport * as testing from '${PACKAGE}/testing';\nexport { main, testing };\n`);
  const program = ts.createProgram({ rootNames: [probe], options, host });
  const checker = program.getTypeChecker();
  const names = new Map<string, string>();
  for (const entry of [PACKAGE, `${PACKAGE}/testing`]) {
    const resolved = ts.resolveModuleName(entry, probe, options, host).resolvedModule;
    if (!resolved) throw new Error(`${entry} does not resolve from the consumer project`);
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(resolved.resolvedFileName)!)!;
    for (const exported of checker.getExportsOfModule(symbol)) if (!names.has(exported.name)) names.set(exported.name, entry);
  }
  return names;
}

/** What a block declares at its top level, what it exports already, and the names it uses. */
function analyse(block: DocBlock): { declared: Set<string>; exported: Set<string>; used: Set<string> } {
  const source = ts.createSourceFile('block.mts', block.code, ts.ScriptTarget.ES2022, true, block.lang === 'ts' ? ts.ScriptKind.TS : ts.ScriptKind.JS);
  const declared = new Set<string>();
  const exported = new Set<string>();
  const bind = (name: ts.BindingName | undefined): void => {
    if (!name) return;
    if (ts.isIdentifier(name)) declared.add(name.text);
    else for (const element of name.elements) if (!ts.isOmittedExpression(element)) bind(element.name);
  };
  for (const statement of source.statements) {
    const before = new Set(declared);
    if (ts.isImportDeclaration(statement) && statement.importClause) {
      const { name, namedBindings } = statement.importClause;
      if (name) declared.add(name.text);
      if (namedBindings && ts.isNamespaceImport(namedBindings)) declared.add(namedBindings.name.text);
      if (namedBindings && ts.isNamedImports(namedBindings)) for (const element of namedBindings.elements) declared.add(element.name.text);
    } else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) bind(declaration.name);
    } else if (
      (ts.isFunctionDeclaration(statement) || ts.isClassDeclaration(statement) || ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement) || ts.isEnumDeclaration(statement)) &&
      statement.name
    ) {
      declared.add(statement.name.text);
    }
    const isExported = ts.canHaveModifiers(statement) && ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (isExported) for (const name of declared) if (!before.has(name)) exported.add(name);
  }
  const used = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const isMemberName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        ((ts.isPropertyAssignment(parent) || ts.isPropertySignature(parent) || ts.isMethodDeclaration(parent) || ts.isPropertyDeclaration(parent)) && parent.name === node);
      if (!isMemberName) used.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { declared, exported, used };
}

export interface BlockCheck {
  checked: string[];
  skipped: { where: string; why: string }[];
  errors: string[];
}

/**
 * Type-checks blocks against the installed package in the project `root` (its
 * tsconfig.docs.json, its docs-prelude.d.ts), reading each group (a page) top to bottom:
 * every block is a module that exports what it declares, and a later block that uses a
 * name an earlier block of its group declared or imported (a fragment continuing the
 * page) imports it from there; a name exported by the package that no earlier block
 * provides is imported from the package. The added imports take one extra first line.
 *
 * A group whose blocks augment global or module declarations (`declare global`,
 * `declare module`) is checked in a program of its own, so that its augmentations do not
 * leak into other pages; the other groups share one program (one type checker is much
 * faster than one per page).
 */
export function checkBlocks(root: string, groups: Map<string, DocBlock[]>): BlockCheck {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(root, 'tsconfig.docs.json'), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  })!;
  const options = config.options;
  const host = ts.createCompilerHost(options);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!cache.has(fileName)) cache.set(fileName, getSourceFile(fileName, languageVersion, onError, shouldCreate));
    return cache.get(fileName);
  };
  const dir = mkdtempSync(path.join(root, 'check-'));
  const fromPackage = exportedNames(dir, host, options);
  const result: BlockCheck = { checked: [], skipped: [], errors: [] };
  const files = new Map<string, { block: DocBlock; added: number }>();
  const programs: string[][] = [[]];
  let group = 0;
  for (const blocks of groups.values()) {
    group++;
    const own: string[] = [];
    /** name → the module specifier of the earlier block that provides it */
    const provided = new Map<string, string>();
    for (const block of blocks) {
      if (block.skip !== undefined) {
        result.skipped.push({ where: block.where, why: block.skip });
        continue;
      }
      const commonJs = block.lang === 'js' && /\brequire\(/.test(block.code);
      const ext = block.lang === 'ts' ? '.mts' : commonJs ? '.cjs' : '.mjs';
      const base = `g${group}-line${block.line}`;
      const file = path.join(dir, base + ext);
      let source = block.code;
      let added = 0;
      if (!commonJs) {
        const { declared, exported, used } = analyse(block);
        const imports = new Map<string, string[]>();
        for (const name of [...used].sort()) {
          if (declared.has(name)) continue;
          const from = provided.get(name) ?? fromPackage.get(name);
          if (from) imports.set(from, [...(imports.get(from) ?? []), name]);
        }
        if (imports.size > 0) {
          source = `${[...imports].map(([from, names]) => `import { ${names.join(', ')} } from '${from}';`).join(' ')}\n${source}`;
          added = 1;
        }
        const toExport = [...declared].filter((name) => !exported.has(name));
        if (toExport.length > 0) source += `\nexport { ${toExport.join(', ')} };\n`;
        for (const name of declared) provided.set(name, `./${base}${ext.replace('.mts', '.mjs')}`);
      }
      writeFileSync(file, source);
      files.set(file, { block, added });
      own.push(file);
      result.checked.push(block.where);
    }
    if (blocks.some((b) => b.skip === undefined && /^\s*declare\s+(global|module)\b/m.test(b.code))) programs.push(own);
    else programs[0]!.push(...own);
  }
  for (const rootNames of programs.filter((p) => p.length > 0)) {
    const program = ts.createProgram({ rootNames: [path.join(root, 'docs-prelude.d.ts'), ...rootNames], options, host });
    for (const d of ts.getPreEmitDiagnostics(program)) {
      const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
      const origin = d.file ? files.get(path.normalize(d.file.fileName)) : undefined;
      if (d.file && origin) {
        const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
        result.errors.push(`${origin.block.page}:${origin.block.line + 1 + line - origin.added}: TS${d.code}: ${message}`);
      } else if (!d.file || !rootNames.includes(path.normalize(d.file.fileName))) {
        // the prelude, or the installed package: reported once per program is enough
        const text = `${d.file ? path.relative(root, d.file.fileName) : '(global)'}: TS${d.code}: ${message}`;
        if (!result.errors.includes(text)) result.errors.push(text);
      }
    }
  }
  return result;
}
