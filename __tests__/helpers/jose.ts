/**
 * jose, the independent JWT library the tests verify tokens with. It is published as ES
 * modules only, which jest's CommonJS module system cannot load; Node's own `require`
 * can (Node 20.19+), so it is loaded with the `createRequire` of the real `node:module`,
 * outside jest's registry. jose keeps no state, so sharing it across test files is safe.
 */
type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });

let jose: Jose | undefined;

export function loadJose(): Jose {
  if (jose === undefined) {
    const { createRequire } = process.getBuiltinModule('node:module');
    jose = createRequire(__filename)('jose') as Jose;
  }
  return jose;
}
