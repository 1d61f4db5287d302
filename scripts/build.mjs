// Build the package: ESM and CommonJS bundles of the two entry points (dependencies stay
// external) with esbuild, and type declarations with tsc.
//
// The two entry points share one copy of every module they both use: `WidgetAuthError`
// thrown by a fake in `express-widget-auth/testing` is the class the main entry exports,
// so `instanceof` works across them. esbuild splits the ESM build into the two entries and
// shared chunks; esbuild cannot split CommonJS, so each ESM output file (entry or chunk) is
// then converted to a CommonJS twin that `require`s the twins of the chunks it imports.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';

const require = createRequire(import.meta.url);
const OUT = 'dist';
const entries = { index: 'lib/index.ts', 'testing/index': 'lib/testing/index.ts' };
const common = { bundle: true, packages: 'external', platform: 'node', target: 'node20', sourcemap: true, logLevel: 'warning' };

rmSync(OUT, { recursive: true, force: true });

const esm = await build({
  ...common,
  entryPoints: entries,
  outdir: OUT,
  format: 'esm',
  splitting: true,
  chunkNames: 'shared/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  metafile: true,
});

/** Keeps imports of sibling output files external, pointing at their CommonJS twins. */
const siblingsAsCommonJs = {
  name: 'siblings-as-commonjs',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => (args.kind === 'entry-point' ? undefined : { path: args.path.replace(/\.mjs$/, '.cjs'), external: true }));
  },
};
const outputs = Object.keys(esm.metafile.outputs).filter((file) => file.endsWith('.mjs'));
await Promise.all(
  outputs.map((file) =>
    build({ ...common, entryPoints: [file], outfile: file.replace(/\.mjs$/, '.cjs'), format: 'cjs', plugins: [siblingsAsCommonJs] }),
  ),
);

// A dependency required lazily (jsonwebtoken, on the first Hissuno signature) reaches the
// output as a call to esbuild's __require shim, which bundlers cannot follow and which has
// no require to call in ESM. Each call becomes a plain require() again, padded to the same
// length so that the source maps stay right; ESM files get their require from createRequire.
const ESM_REQUIRE = "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);\n";
for (const file of outputs.flatMap((f) => [f, f.replace(/\.mjs$/, '.cjs')])) {
  const calls = /(?:\(0, [\w$]+\.__require\)|\b__require)\((?=["'])/g;
  const code = readFileSync(file, 'utf8');
  if (!calls.test(code)) continue;
  const plain = code.replace(calls, (call) => `require(${' '.repeat(call.length - 'require('.length)}`);
  if (file.endsWith('.cjs')) {
    writeFileSync(file, plain);
    continue;
  }
  writeFileSync(file, ESM_REQUIRE + plain);
  const map = JSON.parse(readFileSync(`${file}.map`, 'utf8'));
  writeFileSync(`${file}.map`, JSON.stringify({ ...map, mappings: `;${map.mappings}` }));
}

// ESM consumers get the same declarations through a module-format twin
for (const out of Object.keys(entries)) writeFileSync(path.join(OUT, `${out}.d.mts`), "export * from './index.js';\n");
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });

const shared = readdirSync(path.join(OUT, 'shared')).filter((f) => f.endsWith('.cjs'));
if (shared.length === 0) throw new Error('build: the entry points share no chunk; the testing entry would carry its own copy of the error classes');
