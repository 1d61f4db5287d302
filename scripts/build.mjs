// Build the package: CommonJS and ESM bundles of each entry point (dependencies stay
// external) with esbuild, and type declarations with tsc.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';

const require = createRequire(import.meta.url);
const entries = [
  ['lib/index.ts', 'dist/index'],
  ['lib/testing/index.ts', 'dist/testing/index'],
];

rmSync('dist', { recursive: true, force: true });
for (const [entry, out] of entries) {
  for (const format of ['cjs', 'esm']) {
    await build({
      entryPoints: [entry],
      outfile: `${out}.${format === 'cjs' ? 'cjs' : 'mjs'}`,
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node20',
      format,
      sourcemap: true,
      logLevel: 'warning',
    });
  }
  // ESM consumers get the same declarations through a module-format twin
  writeFileSync(`${out}.d.mts`, "export * from './index.js';\n");
}
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
