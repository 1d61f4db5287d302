import { existsSync } from 'node:fs';
import path from 'node:path';
import { WidgetAuthConfigError } from '../lib';
import { startDemo } from './app';

// `.env` beside package.json (or in the working directory) configures live vendors; variables already set win.
for (const file of new Set([path.join(__dirname, '..', '.env'), path.resolve('.env')])) {
  if (existsSync(file)) process.loadEnvFile(file);
}

const port = process.env['PORT'] === undefined || process.env['PORT'] === '' ? 3000 : Number(process.env['PORT']);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be a port number, got "${process.env['PORT']}"`);
  process.exit(1);
}

startDemo({ port, env: process.env, log: (line) => console.log(line) }).then(
  (demo) => {
    console.log(`\nexpress-widget-auth demo running at ${demo.url}\n`);
    for (const line of demo.describe()) console.log(`  ${line}`);
    console.log('\nOpen the URL, pick a demo user, and watch each card turn green. Ctrl+C stops.\n');
    const stop = () => {
      demo.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  },
  (err: unknown) => {
    if (err instanceof WidgetAuthConfigError) console.error(`The demo could not start: ${err.message}`);
    else if ((err as { code?: string }).code === 'EADDRINUSE') console.error(`Port ${port} is in use; set PORT to another one (PORT=3001 npm run demo).`);
    else console.error('The demo could not start:', err);
    process.exit(1);
  },
);
